//! A [`Store`] over a [`MemoryStore`] that runs a hook before each call
//! and holds what the hook returns until the call is done: the tests
//! interleave writers step by step, serialize every call behind one lock,
//! or count what the calls read, with it. And the records the scenario
//! tests share.

use mdm_mapping::store::{
    Asset, Claim, Holding, IdentifierRules, Inventory, MemoryStore, Store, WriteBatch, WriteResults,
};
use mdm_mapping::{Entity, SourceDevice, StoreError, Vendor};

/// What runs before each call of a [`Hooked`] store; its guard (if any)
/// is held until the call returns.
#[async_trait::async_trait]
pub trait Hook: Send + Sync {
    /// Called before the call with the store method's name and how many
    /// items it names: asset ids (`assets`), claims (`holders`), asset
    /// writes (`write`); 0 for the loads of the whole inventory.
    async fn enter(&self, call: &'static str, items: usize) -> Option<Box<dyn Send + '_>>;
}

/// `inner`, with `hook` run before every call.
pub struct Hooked<'a, H> {
    pub inner: &'a MemoryStore,
    pub hook: H,
}

#[async_trait::async_trait]
impl<H: Hook> Store for Hooked<'_, H> {
    async fn load(&self) -> Result<Inventory, StoreError> {
        let _g = self.hook.enter("load", 0).await;
        self.inner.load().await
    }
    async fn load_for_matching(&self, fields: &[&str]) -> Result<Inventory, StoreError> {
        let _g = self.hook.enter("matching", 0).await;
        self.inner.load_for_matching(fields).await
    }
    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let _g = self.hook.enter("assets", ids.len()).await;
        self.inner.load_assets(ids).await
    }
    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let _g = self.hook.enter("holders", claims.len()).await;
        self.inner.holders(rules, claims).await
    }
    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let _g = self.hook.enter("write", batch.assets.len()).await;
        self.inner.write(rules, batch).await
    }
}

/// A Jamf computer as the Jamf source maps it.
#[allow(dead_code)] // not every test crate that includes `common` uses it
pub fn jamf(id: &str, serial: &str) -> SourceDevice {
    let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, id);
    d.fields
        .serial("serial_number", Some(serial))
        .text("model", Some("MacBook Pro (13-inch, 2018)"))
        .text("model_identifier", Some("MacBookPro15,2"))
        .text("operating_system", Some("macOS 15.2.0"))
        .text("computer_name", Some("ana-mbp"));
    d
}

/// An ABM device as the ABM source maps it.
#[allow(dead_code)] // not every test crate that includes `common` uses it
pub fn abm(serial: &str) -> SourceDevice {
    let mut d = SourceDevice::new(Vendor::Abm, Entity::Device, serial);
    d.fields
        .serial("serial_number", Some(serial))
        .text("device_model", Some("MacBook Pro 13\""))
        .text("product_type", Some("MacBookPro15,2"))
        .text("product_family", Some("Mac"))
        .text("order_number", Some("ORD-1"))
        .datetime("order_date_time", Some("2018-07-20T00:00:00Z"))
        .text("color", Some("SPACE GRAY"))
        .text("status", Some("ASSIGNED"));
    d
}
