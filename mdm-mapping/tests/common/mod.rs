//! A [`Store`] over a [`MemoryStore`] that runs a hook before each call
//! and holds what the hook returns until the call is done: the tests
//! interleave writers step by step, or serialize every call behind one
//! lock, with it.

use mdm_mapping::StoreError;
use mdm_mapping::store::{
    Asset, Claim, Holding, IdentifierRules, Inventory, MemoryStore, Store, WriteBatch, WriteResults,
};

/// What runs before each call of a [`Hooked`] store; its guard (if any)
/// is held until the call returns.
#[async_trait::async_trait]
pub trait Hook: Send + Sync {
    /// Called with the store method's name before the call.
    async fn enter(&self, call: &'static str) -> Option<Box<dyn Send + '_>>;
}

/// `inner`, with `hook` run before every call.
pub struct Hooked<'a, H> {
    pub inner: &'a MemoryStore,
    pub hook: H,
}

#[async_trait::async_trait]
impl<H: Hook> Store for Hooked<'_, H> {
    async fn load(&self) -> Result<Inventory, StoreError> {
        let _g = self.hook.enter("load").await;
        self.inner.load().await
    }
    async fn load_for_matching(&self, fields: &[&str]) -> Result<Inventory, StoreError> {
        let _g = self.hook.enter("matching").await;
        self.inner.load_for_matching(fields).await
    }
    async fn load_assets(&self, ids: &[&str]) -> Result<Vec<Asset>, StoreError> {
        let _g = self.hook.enter("assets").await;
        self.inner.load_assets(ids).await
    }
    async fn holders(
        &self,
        rules: &IdentifierRules,
        claims: &[Claim],
    ) -> Result<Vec<Holding>, StoreError> {
        let _g = self.hook.enter("holders").await;
        self.inner.holders(rules, claims).await
    }
    async fn write(
        &self,
        rules: &IdentifierRules,
        batch: &WriteBatch,
    ) -> Result<WriteResults, StoreError> {
        let _g = self.hook.enter("write").await;
        self.inner.write(rules, batch).await
    }
}
