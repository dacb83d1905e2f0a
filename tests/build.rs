//! Says, where cargo shows it, whether the PostgreSQL tests will run.

fn main() {
    println!("cargo:rerun-if-env-changed=MDM_TEST_POSTGRES_URL");
    if std::env::var_os("MDM_TEST_POSTGRES_URL").is_none() {
        println!(
            "cargo:warning=the PostgreSQL tests are skipped: MDM_TEST_POSTGRES_URL is not set \
             (set it to a server's URL, e.g. postgres://postgres@127.0.0.1:5432/test, to run them)"
        );
    }
}
