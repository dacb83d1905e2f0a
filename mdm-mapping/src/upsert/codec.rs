//! The staging file's record encoding: length-prefixed binary, written and
//! read by this process only.
//!
//! JSON cost a sync more than planning did: every staged value was parsed
//! into a `serde_json::Value`, normalized again and sorted through a
//! `BTreeMap` on its way back. Here a record is its vendor and entity (one
//! byte each), its id, its fields in their stored (sorted) order and its
//! assignee; reading it back allocates only the strings it holds. Secrets
//! are never encoded ([`Staging`](super::Staging) keeps them in memory).

use super::plan::{Id, SourceRef};
use crate::record::{Assignee, Entity, Fields, Key, SourceDevice, Value, Vendor};

/// The vendor, entity and id at the start of an encoded record.
fn header<'b>(r: &mut Reader<'b>) -> Option<(Vendor, Entity, &'b str)> {
    let vendor = match r.byte()? {
        0 => Vendor::Jamf,
        1 => Vendor::Kandji,
        2 => Vendor::Abm,
        _ => return None,
    };
    let entity = match r.byte()? {
        0 => Entity::Computer,
        1 => Entity::MobileDevice,
        2 => Entity::Device,
        3 => Entity::User,
        _ => return None,
    };
    Some((vendor, entity, r.str()?))
}

/// Which record `bytes` encodes (its vendor, entity and id), reading
/// nothing after the id.
pub(super) fn decode_ref(bytes: &[u8]) -> Option<SourceRef> {
    let (vendor, entity, id) = header(&mut Reader(bytes))?;
    Some(SourceRef {
        vendor,
        entity,
        source_id: Id::from(id),
    })
}

/// Appends `d` (without its secrets) to `out`.
pub(super) fn encode(d: &SourceDevice, out: &mut Vec<u8>) {
    let SourceDevice {
        vendor,
        entity,
        source_id,
        fields,
        assignee,
        secrets: _,
    } = d;
    out.push(match vendor {
        Vendor::Jamf => 0,
        Vendor::Kandji => 1,
        Vendor::Abm => 2,
    });
    out.push(match entity {
        Entity::Computer => 0,
        Entity::MobileDevice => 1,
        Entity::Device => 2,
        Entity::User => 3,
    });
    put_str(out, source_id);
    put_len(out, fields.len());
    // Keys as the crate's own indexes where they are known: the file is
    // read back by this process only.
    for (key, value) in fields.entries() {
        match key {
            Key::Known(i) => {
                out.push(0);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Key::Other(name) => {
                out.push(1);
                put_str(out, name);
            }
        }
        match value {
            Value::Bool(b) => out.extend_from_slice(&[0, u8::from(*b)]),
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                out.push(2);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                out.push(3);
                put_str(out, s);
            }
            Value::List(items) => {
                out.push(4);
                put_len(out, items.len());
                for s in items {
                    put_str(out, s);
                }
            }
        }
    }
    match assignee {
        None => out.push(0),
        Some(a) => {
            out.push(1);
            let Assignee {
                id,
                email,
                full_name,
                first_name,
                last_name,
                username,
                phone_number,
                position,
                active,
                archived,
            } = a;
            for s in [
                id,
                email,
                full_name,
                first_name,
                last_name,
                username,
                phone_number,
                position,
            ] {
                put_opt_str(out, s.as_deref());
            }
            for b in [active, archived] {
                out.push(match b {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                });
            }
        }
    }
}

/// Reads back a record [`encode`] wrote; `None` when `bytes` is not one.
pub(super) fn decode(bytes: &[u8]) -> Option<SourceDevice> {
    let mut r = Reader(bytes);
    let (vendor, entity, id) = header(&mut r)?;
    let mut d = SourceDevice::new(vendor, entity, id);
    let n = r.len()?;
    let mut fields = Fields::new();
    // Written by this process: `n` is the record's own count (capped all the same).
    fields.reserve(n.min(256));
    for _ in 0..n {
        let key = match r.byte()? {
            0 => Key::known_index(u16::from_le_bytes(r.array()?))?,
            1 => Key::Other(r.str()?.into()),
            _ => return None,
        };
        let value = match r.byte()? {
            0 => Value::Bool(r.byte()? != 0),
            1 => Value::Int(i64::from_le_bytes(r.array()?)),
            2 => Value::Float(f64::from_bits(u64::from_le_bytes(r.array()?))),
            3 => Value::Text(r.str()?.into()),
            4 => {
                let items = r.len()?;
                let mut list = Vec::with_capacity(items.min(64));
                for _ in 0..items {
                    list.push(r.str()?.to_owned());
                }
                Value::List(list)
            }
            _ => return None,
        };
        // Written from a `Fields`: normalized, in key order.
        fields.insert_key(key, value);
    }
    d.fields = fields;
    d.assignee = match r.byte()? {
        0 => None,
        1 => {
            let mut s = || r.opt_str();
            let (id, email, full_name, first_name) = (s()?, s()?, s()?, s()?);
            let (last_name, username, phone_number, position) = (s()?, s()?, s()?, s()?);
            let mut b = || match r.byte()? {
                0 => Some(None),
                1 => Some(Some(false)),
                2 => Some(Some(true)),
                _ => None,
            };
            let (active, archived) = (b()?, b()?);
            Some(Assignee {
                id,
                email,
                full_name,
                first_name,
                last_name,
                username,
                phone_number,
                position,
                active,
                archived,
            })
        }
        _ => return None,
    };
    r.0.is_empty().then_some(d)
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// What is left of an encoded record.
struct Reader<'b>(&'b [u8]);

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn len(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.array()?) as usize)
    }

    fn str(&mut self) -> Option<&'b str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.str()?.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Assignee;

    #[test]
    fn records_come_back_as_they_went_in() {
        let mut d = SourceDevice::new(Vendor::Kandji, Entity::MobileDevice, "k-1 é");
        d.fields
            .serial("serial_number", Some("C02XK1ABJG5H"))
            .bool("is_supervised", Some(false))
            .count("storage_gb", Some(-42))
            .list("imei", ["35 209900 176148 1", "35 209900 176148 2"])
            .text("site_name", Some("Zürich"));
        d.fields.set("battery", Some(Value::Float(0.25)));
        d.fields
            .set("custom unknown name", Some(Value::Text("x".into())));
        for assignee in [
            None,
            Some(Assignee::default()),
            Some(Assignee {
                email: Some("ana@example.com".into()),
                full_name: Some("Ana Díaz".into()),
                active: Some(true),
                archived: Some(false),
                ..Assignee::default()
            }),
        ] {
            d.assignee = assignee;
            let mut buf = Vec::new();
            encode(&d, &mut buf);
            let back = decode(&buf).expect("decodes");
            assert_eq!(back, d);
            // The same through JSON, as staging used to.
            let json: SourceDevice =
                serde_json::from_str(&serde_json::to_string(&d).expect("json")).expect("json");
            assert_eq!(back, json);
            // Cut short or extended: not a record.
            assert!(decode(&buf[..buf.len() - 1]).is_none());
            buf.push(0);
            assert!(decode(&buf).is_none());
        }
    }
}
