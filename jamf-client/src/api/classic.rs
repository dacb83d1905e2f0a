//! Classic API reads: admin accounts and groups (with access levels and
//! privilege sets) and the basic computer list.

use crate::client::{Client, check_id};
use crate::error::Error;
use crate::models::classic::{AccountEnvelope, AccountsEnvelope, ComputersEnvelope, GroupEnvelope};
use crate::models::{Account, AccountGroup, Accounts, ClassicComputer};

impl Client {
    /// Jamf Pro admin accounts and groups (`GET /JSSResource/accounts`).
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors.
    pub async fn accounts(&self) -> Result<Accounts, Error> {
        let env: AccountsEnvelope = self
            .get_json(&["JSSResource", "accounts"], &[], "Classic account list")
            .await?;
        Ok(env.accounts)
    }

    /// One admin account with its access level, privilege set and
    /// privileges (`GET /JSSResource/accounts/userid/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when there is no such account.
    pub async fn account(&self, id: &str) -> Result<Account, Error> {
        let id = check_id("id", id)?;
        let env: AccountEnvelope = self
            .get_json(
                &["JSSResource", "accounts", "userid", id],
                &[],
                "Classic account",
            )
            .await?;
        Ok(env.account)
    }

    /// One admin group with its access level, privilege set, privileges and
    /// members (`GET /JSSResource/accounts/groupid/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] 404 when there is no such group.
    pub async fn account_group(&self, id: &str) -> Result<AccountGroup, Error> {
        let id = check_id("id", id)?;
        let env: GroupEnvelope = self
            .get_json(
                &["JSSResource", "accounts", "groupid", id],
                &[],
                "Classic account group",
            )
            .await?;
        Ok(env.group)
    }

    /// Every computer with basic fields (`GET /JSSResource/computers/subset/basic`;
    /// not paged). Deprecated by Jamf since 11.15 in favour of the
    /// computers inventory; kept for old servers.
    ///
    /// # Errors
    ///
    /// API, authentication, transport and decode errors.
    pub async fn classic_computers(&self) -> Result<Vec<ClassicComputer>, Error> {
        let env: ComputersEnvelope = self
            .get_json(
                &["JSSResource", "computers", "subset", "basic"],
                &[],
                "Classic computer list",
            )
            .await?;
        Ok(env.computers)
    }
}
