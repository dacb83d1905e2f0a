//! The access document (`mdm access`) on the simulated Jamf, which has
//! every access level: a snapshot of the whole document (its shape is
//! documented and stable), explicit checks of what an access review relies
//! on, and a refused "Read Accounts" privilege.

mod common;

use mdm_examples::cli::access::{AccessDocument, access_document, write_table};
use mdm_examples::simulator::Simulator;

async fn simulator(denied: &[&str]) -> Simulator {
    common::simulator(10, 3, denied).await
}

fn client(sim: &Simulator) -> jamf_client::Client {
    let creds = sim.credentials();
    jamf_client::Client::builder(sim.jamf_url())
        .client_credentials(
            creds.jamf_client_id.clone(),
            creds.jamf_client_secret.clone(),
        )
        .build()
        .expect("client")
}

fn user<'a>(doc: &'a AccessDocument, name: &str) -> &'a mdm_examples::cli::access::AccessUser {
    doc.users
        .iter()
        .find(|u| u.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no user {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_document_matches_the_snapshot() {
    let sim = simulator(&[]).await;
    let doc = access_document(&client(&sim)).await.expect("document");
    assert_eq!(doc.version, 1);
    assert!(doc.complete, "{:?}", doc.warnings);
    assert!(doc.warnings.is_empty(), "{:?}", doc.warnings);

    // Every access level, for accounts and for groups.
    for level in ["Full Access", "Site Access", "Group Access"] {
        assert!(
            doc.users
                .iter()
                .any(|u| u.access_level.as_deref() == Some(level)),
            "{level}"
        );
    }
    for level in ["Full Access", "Site Access"] {
        assert!(
            doc.groups
                .iter()
                .any(|g| g.access_level.as_deref() == Some(level)),
            "{level}"
        );
    }
    // Every privilege set.
    for set in ["Administrator", "Auditor", "Enrollment Only", "Custom"] {
        assert!(
            doc.privilege_sets
                .iter()
                .any(|s| s.name.as_deref() == Some(set) && !s.privileges.is_empty()),
            "{set}"
        );
    }

    // The disabled account is disabled; the others are enabled.
    assert_eq!(user(&doc, "olaf.auditor").enabled, Some(false));
    assert_eq!(user(&doc, "ana.admin").enabled, Some(true));
    assert_eq!(
        doc.users
            .iter()
            .filter(|u| u.enabled == Some(false))
            .count(),
        1
    );

    // A Site Access account: its site, its own Custom privileges.
    let sara = user(&doc, "sara.site");
    assert_eq!(sara.access_level.as_deref(), Some("Site Access"));
    assert_eq!(
        sara.site.as_ref().and_then(|s| s.name.as_deref()),
        Some("Berlin Office")
    );
    assert_eq!(sara.grants.len(), 1);
    assert_eq!(sara.grants[0].via, "account");

    // Group members have Group Access and get the groups' access.
    for g in &doc.groups {
        for m in &g.members {
            let u = doc.users.iter().find(|u| u.id == m.id).expect("member");
            assert_eq!(
                u.access_level.as_deref(),
                Some("Group Access"),
                "{m:?} of {}",
                g.id
            );
            assert!(u.groups.iter().any(|r| r.id == g.id));
        }
    }
    let gia = user(&doc, "gia.group");
    assert_eq!(gia.privilege_set, None);
    let via: Vec<(&str, Option<&str>, Option<&str>)> = gia
        .grants
        .iter()
        .map(|g| {
            (
                g.via,
                g.privilege_set.as_deref(),
                g.site.as_ref().and_then(|s| s.name.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        via,
        [
            ("group", Some("Custom"), Some("Berlin Office")),
            ("group", Some("Enrollment Only"), Some("London Office"))
        ]
    );
    let gus = user(&doc, "gus.group");
    assert_eq!(gus.grants[0].access_level.as_deref(), Some("Full Access"));
    assert_eq!(
        gus.grants[0].privilege_set.as_deref(),
        Some("Administrator")
    );
    // The Administrator group and the Administrator account hold the same set.
    let admin = doc
        .privilege_sets
        .iter()
        .find(|s| s.name.as_deref() == Some("Administrator"))
        .expect("Administrator");
    assert_eq!(
        (admin.users.as_slice(), admin.groups.as_slice()),
        (&["2".to_string()][..], &["1".to_string()][..])
    );
    // A group without members.
    let auditors = doc
        .groups
        .iter()
        .find(|g| g.name.as_deref() == Some("Auditors"))
        .expect("Auditors");
    assert!(auditors.members.is_empty());

    let sites: Vec<_> = doc.sites.iter().filter_map(|s| s.name.as_deref()).collect();
    assert_eq!(sites, ["Headquarters", "Berlin Office", "London Office"]);

    let mut table = Vec::new();
    write_table(&doc, &mut table).expect("table");
    let table = String::from_utf8(table).expect("utf-8");
    assert!(table.contains("Users (7)"), "{table}");
    assert!(
        table.contains("Site Access, Custom at Berlin Office via Berlin Helpdesk"),
        "{table}"
    );

    insta::assert_json_snapshot!("access", doc);
    sim.shutdown().await;
}

/// Without "Read Accounts" the document cannot be built: the error says
/// 403 and the request, its hint names the privilege; nothing panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_read_accounts_the_document_fails_naming_the_privilege() {
    let sim = simulator(&["Read Accounts"]).await;
    let e = access_document(&client(&sim)).await.expect_err("403");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403), "{e}");
    let shown = e.to_string();
    assert!(shown.contains("403"), "{shown}");
    assert!(shown.contains("/JSSResource/accounts"), "{shown}");
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains("\"Read Accounts\""), "{hint}");
    sim.shutdown().await;
}

/// Without "Read Sites" the document is still built; its sites are the
/// ones the accounts and groups name, and a warning says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_read_sites_the_sites_come_from_the_accounts() {
    let sim = simulator(&["Read Sites"]).await;
    let doc = access_document(&client(&sim)).await.expect("document");
    assert!(doc.complete);
    assert_eq!(doc.warnings.len(), 1, "{:?}", doc.warnings);
    assert!(doc.warnings[0].contains("Read Sites"), "{:?}", doc.warnings);
    let sites: Vec<_> = doc.sites.iter().filter_map(|s| s.name.as_deref()).collect();
    assert_eq!(sites, ["Berlin Office", "London Office"]);
    sim.shutdown().await;
}

/// `mdm access` prints the same document the library builds; a refused
/// privilege fails the command with one line naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mdm_access_prints_the_document() {
    let sim = simulator(&[]).await;
    let (_key, env) = common::sim_env(&sim);
    let o = common::mdm(&["access", "--format", "json"], &env).await;
    assert!(o.status.success(), "{}", common::stderr(&o));
    let printed = common::stdout_json(&o);
    let built = serde_json::to_value(access_document(&client(&sim)).await.expect("document"))
        .expect("json");
    assert_eq!(printed, built);
    let o = common::mdm(&["access", "--format", "table"], &env).await;
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("gus.group"));
    sim.shutdown().await;

    let sim = simulator(&["Read Accounts"]).await;
    let (_key, env) = common::sim_env(&sim);
    let o = common::mdm(&["access"], &env).await;
    let err = common::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("403") && err.contains("Read Accounts"),
        "{err}"
    );
    sim.shutdown().await;
}
