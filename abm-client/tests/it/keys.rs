//! Loading the private key in every form ABM ships, and clear errors for
//! everything else.

use abm_client::{KeyError, PrivateKey};
use p256::pkcs8::{EncodePrivateKey, LineEnding};

use crate::common::TestKey;

#[test]
fn loads_pkcs8_sec1_and_the_apple_style_label() {
    let k = TestKey::generate();
    let forms = [
        ("pkcs8", k.pkcs8_pem()),
        ("sec1", k.sec1_pem()),
        ("pkcs8 body under EC label", k.apple_style_pem()),
        ("crlf", k.apple_style_pem().replace('\n', "\r\n")),
        (
            "text before the block",
            format!("Bag Attributes\n    friendlyName: abm\n{}", k.sec1_pem()),
        ),
        ("byte order mark", format!("\u{feff}{}", k.pkcs8_pem())),
        ("bare base64", k.pem_body()),
    ];
    for (what, text) in forms {
        let key = PrivateKey::from_pem(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(key.public_key_pem(), k.public_pem(), "{what}");
    }
    let der = k.secret.to_pkcs8_der().expect("der");
    let key = PrivateKey::from_pem(der.as_bytes()).expect("DER bytes");
    assert_eq!(key.public_key_pem(), k.public_pem());
}

#[test]
fn the_usual_loaders_reject_the_apple_style_file() {
    // Why the crate has its own loader (NOTES §1.6): this is the file ABM ships.
    let k = TestKey::generate();
    let apple = k.apple_style_pem();
    assert!(jsonwebtoken::EncodingKey::from_ec_pem(apple.as_bytes()).is_err());
    assert!(jsonwebtoken::EncodingKey::from_ec_pem(k.sec1_pem().as_bytes()).is_err());
    assert!(PrivateKey::from_pem(&apple).is_ok());
}

#[test]
fn loads_from_a_file() {
    let k = TestKey::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("AxM_ServerToken.pem");
    std::fs::write(&path, k.apple_style_pem()).expect("write");
    let key = PrivateKey::from_file(&path).expect("loads");
    assert_eq!(key.public_key_pem(), k.public_pem());
}

#[test]
fn missing_file_and_directory_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.pem");
    match PrivateKey::from_file(&missing) {
        Err(KeyError::NotFound { path }) => assert_eq!(path, missing),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let e = PrivateKey::from_file(dir.path()).expect_err("a directory");
    assert!(matches!(e, KeyError::Io { .. }), "{e:?}");
    assert!(
        e.to_string().contains("cannot read private key file"),
        "{e}"
    );
}

#[test]
fn rsa_keys_are_the_wrong_type() {
    let rsa = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 512).expect("rsa");
    let pkcs8 = rsa.to_pkcs8_pem(LineEnding::LF).expect("pkcs8").to_string();
    for text in [
        pkcs8.clone(),
        pkcs8.replace("PRIVATE KEY", "EC PRIVATE KEY"),
    ] {
        match PrivateKey::from_pem(&text) {
            Err(KeyError::WrongKeyType { found }) => assert_eq!(found, "RSA"),
            other => panic!("expected WrongKeyType, got {other:?}"),
        }
    }
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let pkcs1 = rsa.to_pkcs1_pem(LineEnding::LF).expect("pkcs1").to_string();
    let e = PrivateKey::from_pem(&pkcs1).expect_err("rsa");
    assert_eq!(
        e.to_string(),
        "the private key is RSA, but Apple's API needs an EC P-256 (ES256) key"
    );
}

#[test]
fn p384_keys_are_the_wrong_curve() {
    let k = p384::SecretKey::random(&mut rand_core::OsRng);
    let pkcs8 = k.to_pkcs8_pem(LineEnding::LF).expect("pkcs8").to_string();
    let sec1 = k.to_sec1_pem(LineEnding::LF).expect("sec1").to_string();
    for (what, text) in [("pkcs8", pkcs8), ("sec1", sec1)] {
        match PrivateKey::from_pem(&text) {
            Err(KeyError::WrongKeyType { found }) => assert_eq!(found, "EC P-384", "{what}"),
            other => panic!("{what}: expected WrongKeyType, got {other:?}"),
        }
    }
}

#[test]
fn broken_files_are_malformed() {
    let k = TestKey::generate();
    let pem = k.pkcs8_pem();
    let truncated_body = {
        let lines: Vec<&str> = pem.lines().collect();
        format!(
            "{}\n{}\n{}\n",
            lines[0],
            &lines[1][..20],
            lines[lines.len() - 1]
        )
    };
    let cases = [
        ("truncated DER", truncated_body),
        (
            "no END line",
            pem.lines().take(2).collect::<Vec<_>>().join("\n"),
        ),
        (
            "bad base64",
            "-----BEGIN PRIVATE KEY-----\n!!!!not base64!!!!\n-----END PRIVATE KEY-----\n".into(),
        ),
        (
            "random bytes",
            pem::encode(&pem::Pem::new(
                "EC PRIVATE KEY",
                vec![0x30, 0x03, 0x02, 0x01, 0x07],
            )),
        ),
    ];
    for (what, text) in cases {
        let e = PrivateKey::from_pem(&text).expect_err(what);
        assert!(matches!(e, KeyError::Malformed { .. }), "{what}: {e:?}");
    }
    assert!(matches!(PrivateKey::from_pem(""), Err(KeyError::Empty)));
    assert!(matches!(PrivateKey::from_pem("  \n"), Err(KeyError::Empty)));
    assert!(matches!(
        PrivateKey::from_pem("this is not a key"),
        Err(KeyError::NotPem)
    ));
    assert!(matches!(
        PrivateKey::from_pem(vec![0xff_u8, 0xfe, 0x00]),
        Err(KeyError::NotPem)
    ));
}

#[test]
fn certificates_public_keys_and_encrypted_keys_are_refused() {
    let k = TestKey::generate();
    match PrivateKey::from_pem(k.public_pem()) {
        Err(KeyError::NotAPrivateKey { label }) => assert_eq!(label, "PUBLIC KEY"),
        other => panic!("expected NotAPrivateKey, got {other:?}"),
    }
    let cert = pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0x00]));
    assert!(matches!(
        PrivateKey::from_pem(cert),
        Err(KeyError::NotAPrivateKey { .. })
    ));
    let enc = k
        .pkcs8_pem()
        .replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
    assert!(matches!(
        PrivateKey::from_pem(enc),
        Err(KeyError::Encrypted)
    ));
}

#[test]
fn key_errors_never_contain_key_material() {
    let k = TestKey::generate();
    let body = k.pem_body();
    // A damaged file that still holds most of a real key.
    let damaged = format!(
        "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
        &body[..body.len() - 12]
    );
    let e = PrivateKey::from_pem(&damaged).expect_err("damaged");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(&body[..24]), "{text}");
        assert!(!text.contains(&k.scalar_hex()[..16]), "{text}");
    }
}
