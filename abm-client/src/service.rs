//! Which Apple service a client talks to: Apple Business Manager or Apple
//! School Manager. The API host, the OAuth scope and the Client ID prefix
//! always go together.

use std::fmt;

/// Apple Business Manager (`api-business.apple.com`, scope `business.api`)
/// or Apple School Manager (`api-school.apple.com`, scope `school.api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Service {
    /// Apple Business Manager (Apple Business).
    #[default]
    Business,
    /// Apple School Manager.
    School,
}

impl Service {
    /// The API base URL Apple documents for this service.
    pub fn api_base(self) -> &'static str {
        match self {
            Service::Business => "https://api-business.apple.com",
            Service::School => "https://api-school.apple.com",
        }
    }

    /// The OAuth scope to request (`business.api` or `school.api`).
    pub fn scope(self) -> &'static str {
        match self {
            Service::Business => "business.api",
            Service::School => "school.api",
        }
    }

    /// The prefix of this service's Client IDs (`BUSINESSAPI.` or `SCHOOLAPI.`).
    pub fn client_id_prefix(self) -> &'static str {
        match self {
            Service::Business => "BUSINESSAPI.",
            Service::School => "SCHOOLAPI.",
        }
    }

    /// The service a Client ID belongs to, from its prefix (case-insensitive);
    /// `None` when the ID has neither known prefix.
    pub fn from_client_id(client_id: &str) -> Option<Service> {
        let id = client_id.trim();
        [Service::Business, Service::School].into_iter().find(|s| {
            let p = s.client_id_prefix();
            id.len() >= p.len()
                && id
                    .get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
    }

    /// A short name: `business` or `school`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Business => "business",
            Service::School => "school",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Business => "Apple Business Manager",
            Service::School => "Apple School Manager",
        })
    }
}

impl std::str::FromStr for Service {
    type Err = crate::error::ConfigError;

    /// `business`/`abm` or `school`/`asm` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "business" | "abm" | "apple business manager" => Ok(Service::Business),
            "school" | "asm" | "apple school manager" => Ok(Service::School),
            _ => Err(crate::error::ConfigError::UnknownService(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_pick_the_service() {
        assert_eq!(
            Service::from_client_id("BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"),
            Some(Service::Business)
        );
        assert_eq!(
            Service::from_client_id(" schoolapi.abc"),
            Some(Service::School)
        );
        assert_eq!(Service::from_client_id("SIMULATOR.x"), None);
        assert_eq!(Service::from_client_id("BUS"), None);
        assert_eq!("ASM".parse::<Service>().ok(), Some(Service::School));
        assert!("intune".parse::<Service>().is_err());
    }
}
