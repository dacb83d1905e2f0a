//! Filters for the device and user listings.

use crate::models::Platform;

/// The most devices (or users) Kandji returns per page (a hard upper limit).
pub const MAX_PAGE_SIZE: u32 = 300;

/// Filters, ordering and page size for `GET /api/v1/devices`.
///
/// Every documented filter is here. Text filters match "containing" unless
/// the name says exact; `_in` filters take several values (sent
/// comma-separated).
///
/// ```
/// use kandji_client::{DeviceQuery, Platform};
///
/// let q = DeviceQuery::new()
///     .platform(Platform::Mac)
///     .tag_name_in(["Staff", "Loaners"])
///     .filevault_enabled(true)
///     .ordering("serial_number");
/// let pairs = q.to_query_pairs();
/// assert!(pairs.contains(&("platform", "Mac".to_string())));
/// assert!(pairs.contains(&("tag_name_in", "Staff,Loaners".to_string())));
/// assert!(pairs.contains(&("filevault_enabled", "true".to_string())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceQuery {
    filters: Vec<(&'static str, String)>,
    ordering: Option<String>,
    page_size: u32,
}

impl Default for DeviceQuery {
    fn default() -> Self {
        DeviceQuery {
            filters: Vec::new(),
            ordering: None,
            page_size: MAX_PAGE_SIZE,
        }
    }
}

macro_rules! text_filters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(self, value: impl Into<String>) -> Self {
                self.set(stringify!($name), value.into())
            }
        )*
    };
}

macro_rules! list_filters {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name<I, S>(self, values: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                let joined = values.into_iter().map(Into::into).collect::<Vec<_>>().join(",");
                self.set(stringify!($name), joined)
            }
        )*
    };
}

impl DeviceQuery {
    /// No filters, Kandji's default order, 300 devices per page.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, key: &'static str, value: String) -> Self {
        self.filters.retain(|(k, _)| *k != key);
        self.filters.push((key, value));
        self
    }

    text_filters! {
        /// Serial number, containing.
        serial_number;
        /// Blueprint id, containing.
        blueprint_id;
        /// Assigned user's email, containing.
        user_email;
        /// Assigned user's email, exact.
        user_email_exact;
        /// Assigned user's id, exact.
        user_id;
        /// Assigned user's name, containing.
        user;
        /// Assigned user's display name, containing.
        user_name;
        /// Asset tag.
        asset_tag;
        /// Device id.
        device_id;
        /// Device name.
        device_name;
        /// A MAC address of the device.
        mac_address;
        /// Model, containing.
        model;
        /// OS version, containing.
        os_version;
        /// One tag name (case-sensitive).
        tag_name;
        /// One tag id.
        tag_id;
    }

    list_filters! {
        /// Any of these tag names (case-sensitive).
        tag_name_in;
        /// Any of these tag ids.
        tag_id_in;
    }

    /// Platform (`Mac`, `iPhone`, `iPad`, `AppleTV`, `Windows`, `Android`).
    pub fn platform(self, platform: Platform) -> Self {
        self.set("platform", platform.as_str().to_string())
    }

    /// FileVault state (Macs only; other platforms never match).
    pub fn filevault_enabled(self, enabled: bool) -> Self {
        self.set("filevault_enabled", enabled.to_string())
    }

    /// Sort order: one or more of `asset_tag`, `blueprint_id`, `device_id`,
    /// `device_name`, `last_check_in`, `model`, `platform`, `os_version`,
    /// `serial_number`, `user`, comma-separated, each optionally prefixed
    /// with `-` for descending. A stable order keeps offset paging from
    /// skipping or repeating devices.
    pub fn ordering(mut self, ordering: impl Into<String>) -> Self {
        self.ordering = Some(ordering.into());
        self
    }

    /// Devices per page, 1 to 300 (clamped). The listing stops at the first
    /// page shorter than this.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// The page size in effect.
    pub fn effective_page_size(&self) -> u32 {
        self.page_size
    }

    /// The ordering, if set.
    pub fn ordering_value(&self) -> Option<&str> {
        self.ordering.as_deref()
    }

    /// The filters and ordering as query pairs (without `limit`/`offset`).
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = self.filters.clone();
        if let Some(o) = &self.ordering {
            pairs.push(("ordering", o.clone()));
        }
        pairs
    }
}

/// Filters and page size for `GET /api/v1/users`.
///
/// The listing is cursor-paged; each request asks for
/// [`effective_page_size`](Self::effective_page_size) users (`limit`, 300 by
/// default, the most Kandji returns), so reading `n` users costs
/// `ceil(n / 300)` requests. Without `limit` Kandji pages by 100.
///
/// ```
/// use kandji_client::UserQuery;
///
/// let q = UserQuery::new().archived(false);
/// assert_eq!(q.effective_page_size(), 300);
/// assert_eq!(q.to_query_pairs(), [("archived", "false".to_string())]);
/// assert_eq!(UserQuery::new().page_size(1_000).effective_page_size(), 300);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    filters: Vec<(&'static str, String)>,
    page_size: u32,
}

impl Default for UserQuery {
    fn default() -> Self {
        UserQuery {
            filters: Vec::new(),
            page_size: MAX_PAGE_SIZE,
        }
    }
}

impl UserQuery {
    /// No filters, 300 users per page.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, key: &'static str, value: String) -> Self {
        self.filters.retain(|(k, _)| *k != key);
        self.filters.push((key, value));
        self
    }

    /// Email, containing.
    pub fn email(self, email: impl Into<String>) -> Self {
        self.set("email", email.into())
    }

    /// User id.
    pub fn id(self, id: impl Into<String>) -> Self {
        self.set("id", id.into())
    }

    /// Directory integration id.
    pub fn integration_id(self, id: impl Into<String>) -> Self {
        self.set("integration_id", id.into())
    }

    /// Archived users only (`true`) or unarchived only (`false`).
    pub fn archived(self, archived: bool) -> Self {
        self.set("archived", archived.to_string())
    }

    /// Users per page (`limit`), 1 to 300 (clamped).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// The page size in effect.
    pub fn effective_page_size(&self) -> u32 {
        self.page_size
    }

    /// The filters as query pairs (without `limit`/`cursor`).
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        self.filters.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_device_filter_is_sent() {
        let q = DeviceQuery::new()
            .serial_number("C02")
            .platform(Platform::IPad)
            .blueprint_id("b")
            .user_email("ana@")
            .user_email_exact("ana@example.com")
            .user_id("u")
            .asset_tag("A1")
            .device_id("d")
            .device_name("n")
            .mac_address("a4:83:e7:0b:1c:2d")
            .model("MacBook")
            .os_version("14")
            .tag_name("t")
            .tag_name_in(["a", "b"])
            .tag_id("ti")
            .tag_id_in(vec!["1".to_string(), "2".to_string()])
            .filevault_enabled(false)
            .user("ana")
            .user_name("Ana")
            .ordering("-last_check_in,serial_number")
            .page_size(1000);
        let keys: Vec<&str> = q.to_query_pairs().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "serial_number",
                "platform",
                "blueprint_id",
                "user_email",
                "user_email_exact",
                "user_id",
                "asset_tag",
                "device_id",
                "device_name",
                "mac_address",
                "model",
                "os_version",
                "tag_name",
                "tag_name_in",
                "tag_id",
                "tag_id_in",
                "filevault_enabled",
                "user",
                "user_name",
                "ordering"
            ]
        );
        assert_eq!(q.effective_page_size(), 300);
        assert_eq!(DeviceQuery::new().page_size(0).effective_page_size(), 1);
    }

    #[test]
    fn setting_a_filter_twice_keeps_the_last() {
        let q = DeviceQuery::new().model("a").model("b");
        assert_eq!(q.to_query_pairs(), [("model", "b".to_string())]);
    }
}
