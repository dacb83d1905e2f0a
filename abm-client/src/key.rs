//! The API account's credentials: Client ID, Key ID and the P-256 private
//! key the portal downloads as a `.pem`.
//!
//! The key loader accepts every form the file is known to come in:
//!
//! - PKCS#8 under `-----BEGIN PRIVATE KEY-----`,
//! - SEC1 under `-----BEGIN EC PRIVATE KEY-----`,
//! - a PKCS#8 body under the `EC PRIVATE KEY` label, which is what Apple's
//!   portal has been reported to ship and what the usual loaders reject,
//! - and, for convenience, bare base64 of either DER form, or DER bytes.
//!
//! It reads the first PEM block whatever its label and tries PKCS#8, then
//! SEC1. A key of another type (RSA, P-384, Ed25519) is named in a
//! [`KeyError::WrongKeyType`]. No error or `Debug` output ever contains
//! key material.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding, ObjectIdentifier};

use crate::error::{ConfigError, Error};

/// Why a private key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file does not exist.
    #[error("private key file {path:?} does not exist")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The key file exists but cannot be read.
    #[error("cannot read private key file {path:?}: {source}")]
    Io {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is empty.
    #[error("the private key is empty")]
    Empty,
    /// The input is neither PEM, nor base64, nor DER.
    #[error(
        "the private key is not a PEM file (expected -----BEGIN PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)"
    )]
    NotPem,
    /// The PEM armour, the base64 or the DER inside is broken.
    #[error("the private key file is damaged: {reason}")]
    Malformed {
        /// What is broken (never any key material).
        reason: String,
    },
    /// The PEM block is not a private key (a certificate, a public key).
    #[error("the PEM block is a {label:?}, not a private key")]
    NotAPrivateKey {
        /// The PEM label found.
        label: String,
    },
    /// The key is encrypted with a passphrase.
    #[error(
        "the private key is encrypted; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)"
    )]
    Encrypted,
    /// A private key, but not an ES256 (P-256) key.
    #[error("the private key is {found}, but Apple's API needs an EC P-256 (ES256) key")]
    WrongKeyType {
        /// What kind of key it is (`RSA`, `EC P-384`, `Ed25519`).
        found: String,
    },
}

/// The API account's P-256 private key. `Debug` never shows it.
///
/// [`from_pem`](Self::from_pem) reads the first PEM block whatever its label
/// and tries PKCS#8, then SEC1, so it accepts `BEGIN PRIVATE KEY` (PKCS#8),
/// `BEGIN EC PRIVATE KEY` (SEC1), and the PKCS#8 body under the
/// `EC PRIVATE KEY` label that Apple's portal has been reported to ship
/// (which `jsonwebtoken` and `p256`'s PEM loaders reject). A key of another
/// type (RSA, P-384, Ed25519) is a [`KeyError::WrongKeyType`].
///
/// ```
/// use abm_client::{KeyError, PrivateKey};
/// use p256::pkcs8::{EncodePrivateKey, LineEnding};
///
/// let throwaway = p256::SecretKey::random(&mut rand_core::OsRng);
/// let der = throwaway.to_pkcs8_der().unwrap();
/// let apple_style = pem::encode(&pem::Pem::new("EC PRIVATE KEY", der.as_bytes().to_vec()));
/// let key = PrivateKey::from_pem(&apple_style).unwrap();
/// assert!(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
/// assert_eq!(format!("{key:?}"), "PrivateKey([redacted])");
///
/// assert!(matches!(PrivateKey::from_pem("not a key"), Err(KeyError::NotPem)));
/// ```
#[derive(Clone)]
pub struct PrivateKey {
    signing: SigningKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

fn curve_name(oid: ObjectIdentifier) -> String {
    match oid {
        OID_P256 => "EC P-256".to_string(),
        OID_P384 => "EC P-384".to_string(),
        OID_P521 => "EC P-521".to_string(),
        OID_SECP256K1 => "EC secp256k1".to_string(),
        other => format!("EC on curve {other}"),
    }
}

impl PrivateKey {
    /// Loads a key from the bytes of a `.pem` file (PKCS#8, SEC1, or a
    /// PKCS#8 body under an `EC PRIVATE KEY` label), bare base64, or DER.
    ///
    /// # Errors
    /// A [`KeyError`] naming what is wrong; never containing key material.
    pub fn from_pem(input: impl AsRef<[u8]>) -> Result<PrivateKey, KeyError> {
        let bytes = input.as_ref();
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(KeyError::Empty);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            // Not text: perhaps a DER file.
            return if bytes.first() == Some(&0x30) {
                Self::from_der(bytes)
            } else {
                Err(KeyError::NotPem)
            };
        };
        if text.contains("-----BEGIN") {
            let block = pem::parse(text).map_err(|e| KeyError::Malformed {
                reason: format!("bad PEM armour: {e}"),
            })?;
            let der = Zeroizing::new(block.contents().to_vec());
            Self::from_labeled_der(&der, Some(block.tag()))
        } else {
            let compact: Zeroizing<String> =
                Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
            let der = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| KeyError::NotPem)?;
            Self::from_der(&der)
        }
    }

    /// Loads a key from a file (see [`from_pem`](Self::from_pem)).
    ///
    /// # Errors
    /// [`KeyError::NotFound`] or [`KeyError::Io`] when the file cannot be
    /// read, otherwise as [`from_pem`](Self::from_pem).
    pub fn from_file(path: impl AsRef<Path>) -> Result<PrivateKey, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map(Zeroizing::new).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                KeyError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                KeyError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        Self::from_pem(&*bytes)
    }

    /// Loads a key from DER: PKCS#8 `PrivateKeyInfo` or SEC1 `ECPrivateKey`.
    ///
    /// # Errors
    /// [`KeyError::WrongKeyType`] for keys of another type,
    /// [`KeyError::Malformed`] for anything that is not a key.
    pub fn from_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        Self::from_labeled_der(der, None)
    }

    fn from_labeled_der(der: &[u8], label: Option<&str>) -> Result<PrivateKey, KeyError> {
        if let Some(label) = label {
            let upper = label.trim().to_ascii_uppercase();
            if upper.contains("ENCRYPTED") {
                return Err(KeyError::Encrypted);
            }
            if upper.starts_with("RSA ") {
                return Err(KeyError::WrongKeyType {
                    found: "RSA".into(),
                });
            }
            if upper.starts_with("DSA ") {
                return Err(KeyError::WrongKeyType {
                    found: "DSA".into(),
                });
            }
            if upper.starts_with("OPENSSH ") {
                return Err(KeyError::Malformed {
                    reason: "an OpenSSH-format key; convert it to PKCS#8 (ssh-keygen -p -m PKCS8)"
                        .into(),
                });
            }
            if !upper.contains("PRIVATE KEY") {
                return Err(KeyError::NotAPrivateKey {
                    label: label.to_string(),
                });
            }
        }
        if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
            return Ok(PrivateKey {
                signing: SigningKey::from(key),
            });
        }
        if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
            return Ok(PrivateKey {
                signing: SigningKey::from(key),
            });
        }
        Err(Self::diagnose(der))
    }

    /// Why DER that is neither a P-256 PKCS#8 nor a P-256 SEC1 key failed.
    fn diagnose(der: &[u8]) -> KeyError {
        if let Ok(info) = p256::pkcs8::PrivateKeyInfo::try_from(der) {
            let found = match info.algorithm.oid {
                OID_EC_PUBLIC_KEY => match info.algorithm.parameters_oid() {
                    Ok(OID_P256) => {
                        return KeyError::Malformed {
                            reason: "a P-256 key whose private scalar is invalid".into(),
                        };
                    }
                    Ok(curve) => curve_name(curve),
                    Err(_) => "EC with unnamed curve parameters".to_string(),
                },
                OID_RSA | OID_RSA_PSS => "RSA".to_string(),
                OID_DSA => "DSA".to_string(),
                OID_ED25519 => "Ed25519".to_string(),
                OID_ED448 => "Ed448".to_string(),
                OID_X25519 => "X25519".to_string(),
                other => format!("a key of algorithm {other}"),
            };
            return KeyError::WrongKeyType { found };
        }
        if let Ok(sec1) = sec1::EcPrivateKey::try_from(der) {
            // Without curve parameters (some writers omit them), the size of
            // the private scalar tells the curve.
            let curve =
                sec1.parameters
                    .and_then(|p| p.named_curve())
                    .or(match sec1.private_key.len() {
                        48 => Some(OID_P384),
                        65 | 66 => Some(OID_P521),
                        _ => None,
                    });
            return match curve {
                Some(OID_P256) | None => KeyError::Malformed {
                    reason: "an EC key that is not a valid P-256 key".into(),
                },
                Some(curve) => KeyError::WrongKeyType {
                    found: curve_name(curve),
                },
            };
        }
        KeyError::Malformed {
            reason: "the content is neither a PKCS#8 nor a SEC1 private key".into(),
        }
    }

    /// The matching public key as a PEM `PUBLIC KEY` (SPKI) block: what a
    /// server (or the simulator) needs to verify the client assertion.
    pub fn public_key_pem(&self) -> String {
        self.signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Signs `message` with ES256 (ECDSA P-256 over SHA-256, RFC 6979
    /// nonces): the 64-byte `r || s` form JWS uses.
    pub(crate) fn sign_es256(&self, message: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(message);
        sig.to_bytes().to_vec()
    }
}

/// An API account: Client ID, Key ID and private key. `Debug` shows the
/// two IDs, never the key.
///
/// ```no_run
/// use abm_client::Credentials;
///
/// let creds = Credentials::from_pem_file(
///     "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152",
///     "d136aa66-0c3b-4bd4-9892-c20e8db024ab",
///     "private-key.pem",
/// )?;
/// # Ok::<(), abm_client::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Credentials {
    client_id: String,
    key_id: String,
    key: PrivateKey,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .finish()
    }
}

impl Credentials {
    /// Credentials from their parts (IDs are trimmed).
    pub fn new(client_id: impl Into<String>, key_id: impl Into<String>, key: PrivateKey) -> Self {
        Credentials {
            client_id: client_id.into().trim().to_string(),
            key_id: key_id.into().trim().to_string(),
            key,
        }
    }

    /// Credentials with the key read from a `.pem` file.
    ///
    /// # Errors
    /// As [`PrivateKey::from_file`].
    pub fn from_pem_file(
        client_id: impl Into<String>,
        key_id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, KeyError> {
        Ok(Self::new(client_id, key_id, PrivateKey::from_file(path)?))
    }

    /// Credentials from `ABM_CLIENT_ID`, `ABM_KEY_ID` and `ABM_PRIVATE_KEY`
    /// (the path of the `.pem`).
    ///
    /// # Errors
    /// [`ConfigError::MissingEnv`] naming the first variable that is unset
    /// or empty, or the [`KeyError`] of the key file.
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::MissingEnv(name))
        };
        let client_id = var("ABM_CLIENT_ID")?;
        let key_id = var("ABM_KEY_ID")?;
        let path = var("ABM_PRIVATE_KEY")?;
        Ok(Self::from_pem_file(client_id, key_id, path.trim())?)
    }

    /// The Client ID (`BUSINESSAPI.…` or `SCHOOLAPI.…`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The Key ID.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }
}
