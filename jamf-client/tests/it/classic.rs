//! Classic API quirks (JSON labelled text/plain, single objects for lists,
//! `{"size":0}`, booleans and numbers as strings, `_epoch`/`_utc` dates),
//! accounts with access levels, and the users, buildings, departments and
//! sites listings.

use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use jamf_client::models::{AccessLevel, PrivilegeSet};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{builder, client, fixture, mount_version, query, requests_to};

/// Serves a fixture the way Jamf Cloud 10.42 does: JSON labelled text/plain.
async fn serve(server: &MockServer, p: &str, fixture_name: &str) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture(fixture_name), "text/plain;charset=UTF-8"),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn classic_users_decode_with_their_quirks() {
    let server = MockServer::start().await;
    serve(&server, "/JSSResource/users", "classic/users.json").await;
    serve(&server, "/JSSResource/users/id/6", "classic/user_6.json").await;
    serve(&server, "/JSSResource/users/id/5", "classic/user_5.json").await;
    let c = client(&server);

    let list = c.classic_users().await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[1].id.as_ref().map(|i| i.as_str()), Some("6"));

    let u = c.classic_user("6").await.unwrap();
    assert_eq!(u.full_name.as_deref(), Some("Erkang Zheng"));
    assert_eq!(u.managed_apple_id, None, "\"\" is no value");
    assert_eq!(
        u.enable_custom_photo_url,
        Some(false),
        "\"false\" is a boolean"
    );
    assert!(u.user_groups.is_empty(), "{{\"size\":0}} is an empty list");
    assert_eq!(u.sites.len(), 1);
    assert_eq!(u.ldap_server.as_ref().and_then(|l| l.real_name()), None);
    // Fields the model does not name (`links`, `extension_attributes`) are skipped.
    assert!(fixture("classic/user_6.json").contains("\"links\""));

    let u = c.classic_user("5").await.unwrap();
    assert_eq!(u.full_name, None);
    assert_eq!(u.phone_number, None);
    // A single element where the XML had one: an object, not a list.
    assert_eq!(u.sites.len(), 1);
    assert_eq!(u.sites[0].name.as_deref(), Some("Remote"));
    assert_eq!(u.user_groups.len(), 1);
    assert_eq!(u.user_groups[0].name.as_deref(), Some("Contractors"));
    let user = u.to_user();
    assert_eq!(user.username.as_deref(), Some("Heriberto Truby"));
    assert_eq!(user.email.as_deref(), Some("heriberto.truby@example.com"));
}

#[tokio::test]
async fn accounts_groups_and_access_levels() {
    let server = MockServer::start().await;
    serve(&server, "/JSSResource/accounts", "classic/accounts.json").await;
    serve(
        &server,
        "/JSSResource/accounts/userid/8",
        "classic/account_8.json",
    )
    .await;
    serve(
        &server,
        "/JSSResource/accounts/userid/20",
        "classic/account_20.json",
    )
    .await;
    serve(
        &server,
        "/JSSResource/accounts/groupid/3",
        "classic/group_3.json",
    )
    .await;
    let c = client(&server);

    let accounts = c.accounts().await.unwrap();
    assert_eq!(accounts.users.len(), 3);
    assert_eq!(accounts.groups.len(), 2);
    assert_eq!(
        accounts.groups[0].site.as_ref().and_then(|s| s.real_name()),
        Some("Test site")
    );

    let a = c.account("8").await.unwrap();
    assert_eq!(a.access_level, Some(AccessLevel::FullAccess));
    assert_eq!(a.privilege_set, Some(PrivilegeSet::Custom));
    assert_eq!(a.enabled, Some(true), "\"Enabled\"");
    assert_eq!(a.force_password_change, Some(false), "\"false\"");
    assert_eq!(a.email, None);
    assert!(a.privileges.contains("read computers"));
    assert_eq!(a.privileges.casper_admin, ["Use Casper Admin"]);

    let a = c.account("20").await.unwrap();
    assert_eq!(a.access_level, Some(AccessLevel::GroupAccess));
    assert_eq!(a.privilege_set, Some(PrivilegeSet::EnrollmentOnly));
    assert_eq!(a.enabled, Some(false), "\"Disabled\"");
    assert_eq!(a.directory_user, Some(true));
    assert_eq!(a.groups.len(), 1, "a single group object");
    assert_eq!(
        a.privileges.jss_objects,
        ["Read Computers"],
        "a single string"
    );
    assert!(a.privileges.jss_settings.is_empty() && a.privileges.jss_actions.is_empty());
    assert!(a.privileges.recon.is_empty(), "null");

    let g = c.account_group("3").await.unwrap();
    assert_eq!(g.access_level, Some(AccessLevel::SiteAccess));
    assert_eq!(
        g.site.as_ref().and_then(|s| s.real_name()),
        Some("Test site")
    );
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].name.as_deref(), Some("site.admin"));
    assert!(g.privileges.casper_admin.is_empty(), "absent area");
}

#[tokio::test]
async fn classic_computer_dates_from_utc_and_epoch() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/JSSResource/computers/subset/basic",
        "classic/computers_basic.json",
    )
    .await;
    let computers = client(&server).classic_computers().await.unwrap();
    assert_eq!(computers.len(), 2);
    let want =
        Utc.with_ymd_and_hms(2019, 6, 17, 16, 0, 56).unwrap() + chrono::Duration::milliseconds(384);
    assert_eq!(computers[0].report_date_utc, Some(want));
    assert_eq!(computers[0].report_date_epoch, Some(want));
    assert_eq!(computers[0].department, None);
    // Second record: id and boolean as strings, epoch 0 = not set.
    assert_eq!(computers[1].id.as_ref().map(|i| i.as_str()), Some("2"));
    assert_eq!(computers[1].managed, Some(true));
    assert_eq!(computers[1].report_date_epoch, None);
    assert_eq!(
        computers[1].report_date().map(|d| d.to_rfc3339()),
        Some("2020-08-03T12:24:29.968+00:00".to_string())
    );
}

#[tokio::test]
async fn users_come_from_the_classic_api_before_11_26() {
    let server = MockServer::start().await;
    mount_version(&server, "10.42.1-t1667311080").await;
    serve(&server, "/JSSResource/users", "classic/users.json").await;
    for id in ["5", "6", "7"] {
        serve(
            &server,
            &format!("/JSSResource/users/id/{id}"),
            &format!("classic/user_{id}.json"),
        )
        .await;
    }
    let c = builder(&server).build().unwrap();
    let pages: Vec<_> = c.users().try_collect().await.unwrap();
    let users: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    let names: Vec<_> = users.iter().map(|u| u.username.clone().unwrap()).collect();
    assert_eq!(names, ["Heriberto Truby", "erkang.zheng", "j1 test user"]);
    // email falls back to email_address.
    assert_eq!(users[2].email.as_deref(), Some("j1@example.com"));
    assert_eq!(requests_to(&server, "/JSSResource/users").await.len(), 1);
    assert!(requests_to(&server, "/api/v1/users").await.is_empty());
}

#[tokio::test]
async fn users_come_from_the_pro_api_from_11_26_with_its_envelope() {
    let server = MockServer::start().await;
    mount_version(&server, "11.26.1-t1774880441315").await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("page", "0"))
        .and(query_param("page-size", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "page": 0, "pageSize": 1000, "totalCount": 2, "totalPages": 1,
            "hasNext": false, "hasPrevious": false,
            "results": [
                {"id": "1", "username": "ana", "realname": "Ana Díaz", "email": "ana@example.com",
                 "phone": null, "position": "Editor", "enableCustomPhotoUrl": false,
                 "customPhotoUrl": null, "managedAppleId": "ana@appleid.example.com"},
                {"id": "2", "username": "bo", "realname": null, "email": null,
                 "phone": "555", "position": null}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = builder(&server).build().unwrap();
    let pages: Vec<_> = c.users().try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].total_count, Some(2));
    let users = &pages[0].items;
    assert_eq!(
        users[0].managed_apple_id.as_deref(),
        Some("ana@appleid.example.com")
    );
    assert_eq!(users[1].phone.as_deref(), Some("555"));
    assert!(requests_to(&server, "/JSSResource/users").await.is_empty());
    let r = &requests_to(&server, "/api/v1/users").await[0];
    assert_eq!(query(r, "sort").as_deref(), Some("id:asc"));
}

#[tokio::test]
async fn buildings_departments_and_the_bare_sites_array() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/buildings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 2,
            "results": [
                {"id": "1", "name": "Apple Park", "streetAddress1": "1 Apple Park Way",
                 "streetAddress2": null, "city": "Cupertino", "stateProvince": "California",
                 "zipPostalCode": "95014", "country": "The United States of America"},
                {"id": "2", "name": "HQ", "streetAddress1": null, "streetAddress2": null,
                 "city": null, "stateProvince": null, "zipPostalCode": null, "country": null}
            ]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/departments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalCount": 1, "results": [{"id": "1", "name": "Field Ops"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/sites"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "1", "name": "Eau Claire", "divisionId": null},
            {"id": "2", "name": "Remote", "divisionId": "550e8400-e29b-41d4-a716-446655440000"}
        ])))
        .mount(&server)
        .await;
    let c = client(&server);
    let buildings: Vec<_> = c.buildings().try_collect().await.unwrap();
    assert_eq!(buildings[0].items.len(), 2);
    assert_eq!(buildings[0].items[0].city.as_deref(), Some("Cupertino"));
    assert_eq!(buildings[0].items[1].country, None);
    let departments: Vec<_> = c.departments().try_collect().await.unwrap();
    assert_eq!(departments[0].items[0].name.as_deref(), Some("Field Ops"));
    let sites = c.sites().await.unwrap();
    assert_eq!(sites.len(), 2);
    assert_eq!(
        sites[1].division_id.as_deref(),
        Some("550e8400-e29b-41d4-a716-446655440000")
    );
}

#[tokio::test]
async fn group_access_accounts_groups_with_members_sites_and_privileges() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/JSSResource/accounts/userid/7"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            json!({"account": {
                "id": 7, "name": "gia.group", "full_name": "Gia Group", "enabled": "Enabled",
                "ldap_server": {"id": 2, "name": "Corp AD"},
                "access_level": "Group Access",
                "groups": [
                    {"id": 2, "name": "Berlin Helpdesk", "site": {"id": 2, "name": "Berlin Office"}},
                    {"id": "3", "name": "London Enrollment", "site": {"id": 3, "name": "London Office"}}
                ],
                "privileges": {"jss_objects": [], "jss_settings": [], "jss_actions": [], "recon": [], "casper_admin": []}
            }})
            .to_string(),
            "text/plain;charset=UTF-8",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/JSSResource/accounts/groupid/2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                json!({"group": {
                    "id": 2, "name": "Berlin Helpdesk", "access_level": "Site Access",
                    "privilege_set": "Custom", "site": {"id": 2, "name": "Berlin Office"},
                    "privileges": {"jss_objects": ["Read Computers", "Read Computers"],
                                   "jss_actions": "Send Mobile Device Lost Mode Command"},
                    "members": [{"id": 7, "name": "gia.group"}, {"id": "9", "name": "ivo"}]
                }})
                .to_string(),
                "text/plain;charset=UTF-8",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/JSSResource/accounts/groupid/4"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                json!({"group": {"id": 4, "name": "Auditors", "access_level": "Full Access",
                "privilege_set": "Auditor", "site": {"id": -1, "name": "None"},
                "privileges": {"jss_objects": ["Read Computers"]}, "members": {"size": 0}}})
                .to_string(),
                "text/plain;charset=UTF-8",
            ),
        )
        .mount(&server)
        .await;
    let c = client(&server);

    let a = c.account("7").await.unwrap();
    assert_eq!(a.access_level, Some(AccessLevel::GroupAccess));
    assert_eq!(a.privilege_set, None, "absent");
    assert!(a.privileges.is_empty());
    assert_eq!(
        a.ldap_server.as_ref().and_then(|l| l.real_name()),
        Some("Corp AD")
    );
    let groups: Vec<(Option<&str>, Option<&str>)> = a
        .groups
        .iter()
        .map(|g| {
            (
                g.id.as_ref().map(|i| i.as_str()),
                g.site.as_ref().and_then(|s| s.real_name()),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (Some("2"), Some("Berlin Office")),
            (Some("3"), Some("London Office"))
        ]
    );

    let g = c.account_group("2").await.unwrap();
    assert_eq!(g.privilege_set, Some(PrivilegeSet::Custom));
    assert_eq!(g.privileges.len(), 3, "a duplicate is kept as listed");
    assert_eq!(
        g.privileges.areas()[2],
        (
            "jss_actions",
            &["Send Mobile Device Lost Mode Command".to_string()][..]
        )
    );
    let members: Vec<_> = g
        .members
        .iter()
        .filter_map(|m| m.id.as_ref().map(|i| i.as_str().to_owned()))
        .collect();
    assert_eq!(members, ["7", "9"], "ids as numbers or strings");

    let g = c.account_group("4").await.unwrap();
    assert!(g.members.is_empty(), "{{\"size\":0}}");
    assert_eq!(
        g.site.as_ref().and_then(|s| s.real_name()),
        None,
        "None site"
    );
    assert_eq!(g.privilege_set, Some(PrivilegeSet::Auditor));
}

#[tokio::test]
async fn a_malformed_account_is_a_decode_error_not_a_panic() {
    let server = MockServer::start().await;
    for (id, body) in [
        ("1", json!({"account": {"id": 1, "enabled": "perhaps"}})),
        ("2", json!({"account": {"id": 2, "groups": [1, 2]}})),
        ("3", json!({"accounts": []})),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/JSSResource/accounts/userid/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/JSSResource/accounts/groupid/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"group": {"id": 1, "members": "not a list"}})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    for id in ["1", "2", "3"] {
        let e = c.account(id).await.unwrap_err();
        assert!(
            matches!(e, jamf_client::Error::Decode(_)),
            "account {id}: {e:?}"
        );
    }
    let e = c.account_group("1").await.unwrap_err();
    assert!(matches!(e, jamf_client::Error::Decode(_)), "{e:?}");
}
