//! `orgDeviceActivities`: assigning, unassigning and releasing devices.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::de::{self, open_enum};
use super::device::null_as_default;
use super::jsonapi::{DocumentLinks, required_id, string_or_empty};
use crate::error::ConfigError;

/// A device activity (`orgDeviceActivities` resource): a batch job that
/// assigns, unassigns or releases devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrgDeviceActivity {
    /// Always `orgDeviceActivities`.
    #[serde(rename = "type", default, deserialize_with = "string_or_empty")]
    pub type_: String,
    /// The activity id (queryable for 30 days).
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// The activity's state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub attributes: OrgDeviceActivityAttributes,
    /// The resource's own link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<DocumentLinks>,
}

/// The attributes of an [`OrgDeviceActivity`]; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OrgDeviceActivityAttributes {
    /// Overall state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ActivityStatus>,
    /// Detailed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<ActivitySubStatus>,
    /// When it was created.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_date_time: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(
        default,
        deserialize_with = "de::opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_date_time: Option<DateTime<Utc>>,
    /// A presigned, expiring URL of the CSV log (when completed). Read the
    /// activity again for a fresh one.
    #[serde(
        default,
        deserialize_with = "de::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub download_url: Option<String>,
}

open_enum! {
    /// What an activity does.
    pub enum ActivityType {
        /// Assign devices to an MDM server.
        AssignDevices = "ASSIGN_DEVICES",
        /// Unassign devices from an MDM server.
        UnassignDevices = "UNASSIGN_DEVICES",
        /// Assign devices with an MDM migration deadline.
        AssignDevicesWithMdmMigrationDeadline = "ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE",
        /// Change an MDM migration deadline.
        UpdateMdmMigrationDeadline = "UPDATE_MDM_MIGRATION_DEADLINE",
        /// Cancel an MDM migration.
        CancelMdmMigration = "CANCEL_MDM_MIGRATION",
        /// Release devices from the organization (ABM 2.4+).
        ReleaseDevices = "RELEASE_DEVICES",
    }
}

open_enum! {
    /// The overall state of an activity.
    pub enum ActivityStatus {
        /// Finished (possibly with errors: see the sub-status).
        Completed = "COMPLETED",
        /// Running.
        InProgress = "IN_PROGRESS",
        /// Stopped.
        Stopped = "STOPPED",
        /// Failed.
        Failed = "FAILED",
    }
}

open_enum! {
    /// The detailed state of an activity.
    pub enum ActivitySubStatus {
        /// Submitted.
        Submitted = "SUBMITTED",
        /// Pre-processing.
        PreProcessing = "PRE_PROCESSING",
        /// Pending.
        Pending = "PENDING",
        /// Processing.
        Processing = "PROCESSING",
        /// Post-processing.
        PostProcessing = "POST_PROCESSING",
        /// Stopping.
        Stopping = "STOPPING",
        /// Every device succeeded.
        CompletedWithSuccess = "COMPLETED_WITH_SUCCESS",
        /// Some devices failed.
        CompletedWithError = "COMPLETED_WITH_ERROR",
        /// Every device failed.
        CompletedWithFailure = "COMPLETED_WITH_FAILURE",
        /// Done, but post-processing failed.
        CompletedPostProcessingFailed = "COMPLETED_POST_PROCESSING_FAILED",
    }
}

/// The body of `POST /v1/orgDeviceActivities`.
///
/// ```
/// use abm_client::model::{ActivityType, OrgDeviceActivityRequest};
///
/// let req = OrgDeviceActivityRequest::assign("1F97349736CF4614A94F624E705841AD", ["XABC123X0ABC123X0"]);
/// assert_eq!(req.activity_type(), &ActivityType::AssignDevices);
/// let body = req.to_json().unwrap();
/// assert_eq!(body["data"]["attributes"]["activityType"], "ASSIGN_DEVICES");
/// assert_eq!(body["data"]["relationships"]["devices"]["data"][0]["id"], "XABC123X0ABC123X0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDeviceActivityRequest {
    activity_type: ActivityType,
    mdm_server_id: Option<String>,
    device_ids: Vec<String>,
    deadline: Option<DateTime<Utc>>,
}

impl OrgDeviceActivityRequest {
    /// Any activity: the type, the server (for assign/unassign) and the devices.
    pub fn new<I, S>(
        activity_type: ActivityType,
        mdm_server_id: Option<String>,
        device_ids: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OrgDeviceActivityRequest {
            activity_type,
            mdm_server_id,
            device_ids: device_ids.into_iter().map(Into::into).collect(),
            deadline: None,
        }
    }

    /// Assigns devices to an MDM server (`ASSIGN_DEVICES`).
    pub fn assign<I, S>(mdm_server_id: impl Into<String>, device_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(
            ActivityType::AssignDevices,
            Some(mdm_server_id.into()),
            device_ids,
        )
    }

    /// Unassigns devices from an MDM server (`UNASSIGN_DEVICES`).
    pub fn unassign<I, S>(mdm_server_id: impl Into<String>, device_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(
            ActivityType::UnassignDevices,
            Some(mdm_server_id.into()),
            device_ids,
        )
    }

    /// Releases devices from the organization (`RELEASE_DEVICES`, ABM only).
    /// This cannot be undone.
    pub fn release<I, S>(device_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(ActivityType::ReleaseDevices, None, device_ids)
    }

    /// Sets `activityTypeMetadata.mdmMigrationDeadlineDateTime` (for the
    /// migration activity types).
    pub fn with_migration_deadline(mut self, deadline: DateTime<Utc>) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The activity type.
    pub fn activity_type(&self) -> &ActivityType {
        &self.activity_type
    }

    /// The devices.
    pub fn device_ids(&self) -> &[String] {
        &self.device_ids
    }

    /// The MDM server.
    pub fn mdm_server_id(&self) -> Option<&str> {
        self.mdm_server_id.as_deref()
    }

    /// Checks the request and builds the JSON body.
    ///
    /// # Errors
    /// [`ConfigError::InvalidActivity`] when there are no devices, a blank
    /// id, or the server is missing (assign, unassign) or given where Apple
    /// forbids it (release, cancel migration).
    pub fn to_json(&self) -> Result<serde_json::Value, ConfigError> {
        let invalid = |reason: &str| ConfigError::InvalidActivity(reason.to_string());
        if self.device_ids.is_empty() {
            return Err(invalid("an activity needs at least one device"));
        }
        if self.device_ids.iter().any(|d| d.trim().is_empty()) {
            return Err(invalid("a device id is blank"));
        }
        let server = self.mdm_server_id.as_deref().map(str::trim);
        let needs_server = matches!(
            self.activity_type,
            ActivityType::AssignDevices
                | ActivityType::UnassignDevices
                | ActivityType::AssignDevicesWithMdmMigrationDeadline
        );
        let forbids_server = matches!(
            self.activity_type,
            ActivityType::ReleaseDevices | ActivityType::CancelMdmMigration
        );
        match server {
            Some("") => return Err(invalid("the MDM server id is blank")),
            None if needs_server => {
                return Err(invalid(&format!(
                    "{} needs an MDM server",
                    self.activity_type
                )));
            }
            Some(_) if forbids_server => {
                return Err(invalid(&format!(
                    "{} takes no MDM server",
                    self.activity_type
                )));
            }
            _ => {}
        }
        let mut attributes = json!({ "activityType": self.activity_type.as_str() });
        if let Some(deadline) = self.deadline {
            attributes["activityTypeMetadata"] = json!({
                "mdmMigrationDeadlineDateTime": deadline.to_rfc3339_opts(SecondsFormat::Secs, true)
            });
        }
        let devices: Vec<serde_json::Value> = self
            .device_ids
            .iter()
            .map(|id| json!({ "type": "orgDevices", "id": id }))
            .collect();
        let mut relationships = json!({ "devices": { "data": devices } });
        if let Some(server) = server {
            relationships["mdmServer"] = json!({ "data": { "type": "mdmServers", "id": server } });
        }
        Ok(json!({
            "data": {
                "type": "orgDeviceActivities",
                "attributes": attributes,
                "relationships": relationships,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shapes_follow_apple() {
        let body = OrgDeviceActivityRequest::assign("S1", ["D1", "D2"])
            .to_json()
            .expect("valid");
        assert_eq!(
            body,
            json!({"data":{"type":"orgDeviceActivities","attributes":{"activityType":"ASSIGN_DEVICES"},
                "relationships":{"mdmServer":{"data":{"type":"mdmServers","id":"S1"}},
                "devices":{"data":[{"type":"orgDevices","id":"D1"},{"type":"orgDevices","id":"D2"}]}}}})
        );
        let body = OrgDeviceActivityRequest::release(["D1"])
            .to_json()
            .expect("valid");
        assert_eq!(
            body["data"]["attributes"]["activityType"],
            "RELEASE_DEVICES"
        );
        assert!(body["data"]["relationships"].get("mdmServer").is_none());
    }

    #[test]
    fn invalid_requests_are_refused() {
        let none: [&str; 0] = [];
        assert!(
            OrgDeviceActivityRequest::assign("S1", none)
                .to_json()
                .is_err()
        );
        assert!(
            OrgDeviceActivityRequest::assign(" ", ["D"])
                .to_json()
                .is_err()
        );
        assert!(OrgDeviceActivityRequest::release([" "]).to_json().is_err());
        assert!(
            OrgDeviceActivityRequest::new(ActivityType::UnassignDevices, None, ["D"])
                .to_json()
                .is_err()
        );
        assert!(
            OrgDeviceActivityRequest::new(ActivityType::ReleaseDevices, Some("S".into()), ["D"])
                .to_json()
                .is_err()
        );
    }
}
