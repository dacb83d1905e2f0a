//! Opt-in per-device reads: AppleCare coverage and Activation Lock status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::de::{self, open_enum};
use super::device::null_as_default;
use super::jsonapi::{required_id, string_or_empty};

/// One coverage of a device (`appleCareCoverage` resource): the limited
/// warranty, AppleCare+, AppleCare for Business subscriptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppleCareCoverage {
    /// Always `appleCareCoverage`.
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The coverage id.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The coverage's attributes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: AppleCareCoverageAttributes,
}

/// The attributes of an [`AppleCareCoverage`]; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AppleCareCoverageAttributes {
    /// Whether the coverage is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CoverageStatus>,
    /// How it is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_type: Option<PaymentType>,
    /// What it is (`Limited Warranty`, `AppleCare+`).
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// When it starts.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_date_time: Option<DateTime<Utc>>,
    /// When it ends (`null` for open-ended subscriptions).
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<DateTime<Utc>>,
    /// Whether it can be renewed.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_renewable: Option<bool>,
    /// Whether it was canceled.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_canceled: Option<bool>,
    /// When it was canceled.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub contract_cancel_date_time: Option<DateTime<Utc>>,
    /// The agreement number.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub agreement_number: Option<String>,
}

open_enum! {
    /// Whether a coverage is in force.
    pub enum CoverageStatus {
        /// In force.
        Active = "ACTIVE",
        /// Not in force.
        Inactive = "INACTIVE",
    }
}

open_enum! {
    /// How a coverage is paid.
    pub enum PaymentType {
        /// Apple Business Essentials subscription.
        AbeSubscription = "ABE_SUBSCRIPTION",
        /// Paid up front.
        PaidUpFront = "PAID_UP_FRONT",
        /// Subscription.
        Subscription = "SUBSCRIPTION",
        /// Not paid (the limited warranty).
        None = "NONE",
    }
}

/// A device's Activation Lock status (`activationLockStatus` resource,
/// ABM 2.5+ / ASM 1.7+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivationLockStatus {
    /// Always `activationLockStatus`.
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The device id.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The status.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: ActivationLockAttributes,
}

/// The attributes of an [`ActivationLockStatus`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActivationLockAttributes {
    /// Whether Activation Lock is on.
    #[serde(
        default,
        deserialize_with = "de::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_locked: Option<bool>,
    /// Who holds the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_type: Option<LockType>,
}

open_enum! {
    /// Who holds an Activation Lock.
    pub enum LockType {
        /// The MDM (organization) lock.
        Mdm = "MDM",
        /// A user's Apple Account.
        User = "USER",
        /// No lock.
        None = "NONE",
    }
}
