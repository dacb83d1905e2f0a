//! Bounded-memory upsert: [`Staging`], [`Staged`], [`apply_staged`].

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;

use super::apply::{ApplyReport, Origin, write_plan};
use super::config::{Config, ConfigError};
use super::plan::{
    EmployeeActionKind, Employees, IdHashes, Plan, Projection, SourceRef, Summary, Users, find,
    plan_batch, plan_with_users, union,
};
use crate::fast_hash::FastState;
use crate::record::{Secrets, SourceDevice};
use crate::source::Listing;
use crate::store::{Asset, Employee, Inventory, NewEmployee, Store, StoreError};

/// Staging failed: the temporary file could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// Writing or reading the temporary file failed.
    #[error("cannot {what} the staging file: {source}")]
    Io {
        /// What was being done (`create`, `write`, `read`).
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A staged record did not decode (the file was changed under us).
    #[error("staged record {record} does not decode: {source}")]
    Decode {
        /// Its position in staging order (0-based).
        record: usize,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
}

mod skip;
use skip::{Shape, Skips, seal};

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> StagingError {
    move |source| StagingError::Io { what, source }
}

/// Bounded-memory upsert: stage records on disk as they arrive, then plan and
/// apply in batches that [`plan`](crate::upsert::plan()) can take one at a time.
///
/// [`plan`](crate::upsert::plan()) needs every record of every source at once, because one device
/// can be reported by several sources (and twice by one). A fleet of 100,000
/// devices is then several hundred megabytes of records. [`Staging`] keeps
/// only what joins records and assets together, the hashes of their
/// identifiers, and writes each record (projected to the fields the plan
/// reads) to an unnamed temporary file. [`Staged::batches`] then splits the
/// records and the inventory into batches of whole *components*: records and
/// assets linked by a shared identifier are always in the same batch, so
/// each batch matches and merges exactly as it would inside one big plan.
/// New employees are decided from every staged record (the name an email is
/// first given, the email that first claims a name), as [`plan`](crate::upsert::plan()) decides
/// them, so devices of one user may sit in different batches.
/// [`apply_staged`] plans and applies batch after batch, and carries the
/// employees each batch created into the next, where they are existing
/// employees.
///
/// Secrets (read on opt-in) never touch the disk: they stay in memory beside
/// the staged record.
///
/// ```
/// use mdm_mapping::store::{Inventory, MemoryStore};
/// use mdm_mapping::upsert::{apply_staged, Config, Staging};
/// use mdm_mapping::{Entity, SourceDevice, Vendor};
///
/// # futures::executor::block_on(async {
/// let config = Config::default();
/// let mut staging = Staging::new(&config).unwrap();
/// for (id, serial) in [("1", "C02AAAAAAAA1"), ("2", "C02AAAAAAAA2")] {
///     let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, id);
///     d.fields.serial("serial_number", Some(serial));
///     staging.push(d).unwrap();
/// }
/// // The same device, seen by Kandji: staged apart, planned together.
/// let mut k = SourceDevice::new(Vendor::Kandji, Entity::Device, "k-1");
/// k.fields.serial("serial_number", Some("C02AAAAAAAA1"));
/// staging.push(k).unwrap();
///
/// let mut staged = staging.finish().unwrap();
/// let store = MemoryStore::new(Inventory::default());
/// let done = apply_staged(&mut staged, &config, &[], &store, 1, |_, _| {})
///     .await
///     .unwrap();
/// assert_eq!(done.summary.create, 2);
/// assert_eq!(done.batches, 2);
/// assert_eq!(store.snapshot().assets.len(), 2);
/// # });
/// ```
///
/// Each pushed record is projected to the fields [`plan`](crate::upsert::plan()) reads
/// ([`Projection`]), its identifiers are hashed, and it is written to an
/// unnamed temporary file (removed by the system when it is closed).
/// What stays in memory is 8 bytes per identifier, 16 per record, and each
/// user's email and name once.
pub struct Staging<'c> {
    hashes: IdHashes<'c>,
    projection: Projection,
    file: BufWriter<File>,
    written: u64,
    buf: Vec<u8>,
    ids: Ids,
}

impl std::fmt::Debug for Staging<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staging")
            .field("records", &self.ids.spans.len())
            .field("bytes", &self.written)
            .finish_non_exhaustive()
    }
}

/// What stays in memory per staged record.
#[derive(Default)]
struct Ids {
    /// (offset, length) of each record in the file.
    spans: Vec<(u64, u32)>,
    /// Identifier hashes of every record, one run per record.
    hashes: Vec<u64>,
    /// Where each record's run ends in `hashes`.
    ends: Vec<u32>,
    /// Secrets, by record, kept out of the file.
    secrets: HashMap<u32, Secrets>,
    /// Each user's name and each name's first email, over every record.
    users: Users,
    /// Each record's digest: `xxh3` of its encoding (what the plan reads
    /// of it).
    digests: Vec<u64>,
    /// Each record's vendor ([`skip::vendor_bit`]).
    vendors: Vec<u8>,
}

impl<'c> Staging<'c> {
    /// Empty staging for `config`, backed by a new temporary file.
    pub fn new(config: &'c Config) -> Result<Staging<'c>, StagingError> {
        let file = tempfile::tempfile().map_err(io_err("create"))?;
        Ok(Staging {
            hashes: IdHashes::new(config),
            projection: Projection::new(config),
            file: BufWriter::with_capacity(1 << 16, file),
            written: 0,
            buf: Vec::new(),
            ids: Ids::default(),
        })
    }

    /// The asset fields [`apply_staged`] reads of every stored asset to
    /// form its batches ([`Store::load_for_matching`]): the identifier
    /// fields of the configuration, known before any record is staged.
    pub(crate) fn matching_fields(&self) -> Vec<&str> {
        self.hashes.asset_fields()
    }

    /// Stages one record.
    pub fn push(&mut self, mut record: SourceDevice) -> Result<(), StagingError> {
        let index = self.ids.spans.len() as u32;
        self.projection.project(&mut record);
        self.ids.users.add(&record);
        self.hashes.record(&record, &mut self.ids.hashes);
        self.ids.ends.push(self.ids.hashes.len() as u32);
        if !record.secrets.is_empty() {
            self.ids
                .secrets
                .insert(index, std::mem::take(&mut record.secrets));
        }
        self.ids.vendors.push(skip::vendor_bit(record.vendor));
        self.buf.clear();
        super::codec::encode(&record, &mut self.buf);
        self.ids.digests.push(xxhash_rust::xxh3::xxh3_64(&self.buf));
        self.file.write_all(&self.buf).map_err(io_err("write"))?;
        self.ids.spans.push((self.written, self.buf.len() as u32));
        self.written += self.buf.len() as u64;
        Ok(())
    }

    /// Records staged so far.
    pub fn len(&self) -> usize {
        self.ids.spans.len()
    }

    /// Whether nothing was staged.
    pub fn is_empty(&self) -> bool {
        self.ids.spans.is_empty()
    }

    /// Ends staging: the records can now be batched and read back.
    pub fn finish(self) -> Result<Staged<'c>, StagingError> {
        let file = self.file.into_inner().map_err(|e| StagingError::Io {
            what: "write",
            source: e.into_error(),
        })?;
        Ok(Staged {
            hashes: self.hashes,
            file,
            ids: self.ids,
        })
    }
}

/// Staged records, ready to be batched ([`Staged::batches`]) and read back
/// ([`Staged::records`]).
pub struct Staged<'c> {
    hashes: IdHashes<'c>,
    file: File,
    ids: Ids,
}

impl std::fmt::Debug for Staged<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("records", &self.ids.spans.len())
            .finish_non_exhaustive()
    }
}

/// Records and assets that can be planned apart from every other batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Indexes into the inventory's assets, ascending.
    pub assets: Vec<usize>,
    /// Indexes of staged records (staging order), ascending.
    pub records: Vec<usize>,
}

impl Staged<'_> {
    /// Records staged.
    pub fn len(&self) -> usize {
        self.ids.spans.len()
    }

    /// Whether nothing was staged.
    pub fn is_empty(&self) -> bool {
        self.ids.spans.is_empty()
    }

    /// Splits the staged records and `inventory`'s assets into batches.
    ///
    /// Records and assets that share an identifier value (as the plan
    /// matches them) are one component, and a component is never split:
    /// planning each batch alone gives the actions one plan over everything
    /// would. Components go into batches in order of their first record
    /// (then assets no record shares anything with), and a batch is closed
    /// before it would hold more than `max_records` records and assets
    /// together; a component bigger than that is a batch of its own. Every asset is in exactly one batch,
    /// so assets no source reports any more are still seen (missing
    /// devices).
    pub fn batches(&self, inventory: &Inventory, max_records: usize) -> Vec<Batch> {
        self.split(inventory, max_records).0
    }

    /// [`batches`](Staged::batches), and the component of every asset and
    /// record (assets first, then records, as indexes).
    fn split(&self, inventory: &Inventory, max_records: usize) -> (Vec<Batch>, Vec<u32>) {
        let max = max_records.max(1);
        let assets = inventory.assets.len();
        let records = self.len();
        let nodes = assets + records;
        let mut parent: Vec<u32> = (0..nodes as u32).collect();
        let mut first: HashMap<u64, u32, FastState> =
            HashMap::with_capacity_and_hasher(self.ids.hashes.len(), FastState::new());
        let mut link = |parent: &mut Vec<u32>, h: u64, node: u32| match first.get(&h) {
            Some(&other) => union(parent, other, node),
            None => {
                first.insert(h, node);
            }
        };
        let mut scratch = Vec::new();
        for (ai, asset) in inventory.assets.iter().enumerate() {
            scratch.clear();
            self.hashes.asset(asset, &mut scratch);
            for &h in &scratch {
                link(&mut parent, h, ai as u32);
            }
        }
        let mut start = 0usize;
        for (r, &end) in self.ids.ends.iter().enumerate() {
            let node = (assets + r) as u32;
            for &h in self.ids.hashes.get(start..end as usize).unwrap_or_default() {
                link(&mut parent, h, node);
            }
            start = end as usize;
        }
        drop(first);

        // Components in order of first record, then asset-only ones.
        let order = (assets..nodes).chain(0..assets);
        let mut comp_of_root: HashMap<u32, u32, FastState> = HashMap::with_hasher(FastState::new());
        let mut comp_size: Vec<usize> = Vec::new();
        let mut comp = vec![0u32; nodes];
        for node in order {
            let root = find(&mut parent, node as u32);
            let c = *comp_of_root.entry(root).or_insert_with(|| {
                comp_size.push(0);
                (comp_size.len() - 1) as u32
            });
            comp_size[c as usize] += 1;
            comp[node] = c;
        }
        drop(parent);
        drop(comp_of_root);

        let mut batch_of = Vec::with_capacity(comp_size.len());
        let mut batches: Vec<Batch> = Vec::new();
        let mut filled = 0usize;
        for size in comp_size {
            if batches.is_empty() || (filled > 0 && filled + size > max) {
                batches.push(Batch::default());
                filled = 0;
            }
            filled += size;
            batch_of.push(batches.len() - 1);
        }
        for (ai, c) in comp.iter().take(assets).enumerate() {
            batches[batch_of[*c as usize]].assets.push(ai);
        }
        for (r, c) in comp.iter().skip(assets).enumerate() {
            batches[batch_of[*c as usize]].records.push(r);
        }
        (batches, comp)
    }

    /// Which records `records` (ascending staging indexes) are: their
    /// vendor, entity and id, read from the staging file and nothing after.
    fn refs(&mut self, records: &[usize]) -> Result<Vec<SourceRef>, StagingError> {
        self.read(records, |r, bytes| {
            super::codec::decode_ref(bytes).ok_or_else(|| StagingError::Decode {
                record: r,
                source: serde::de::Error::custom("not a staged record"),
            })
        })
    }

    /// Reads back the records of `batch`, in staging order, with their
    /// secrets.
    pub fn records(&mut self, batch: &Batch) -> Result<Vec<SourceDevice>, StagingError> {
        let secrets = std::mem::take(&mut self.ids.secrets);
        let out = self.read(&batch.records, |r, bytes| {
            let mut d = super::codec::decode(bytes).ok_or_else(|| StagingError::Decode {
                record: r,
                source: serde::de::Error::custom("not a staged record"),
            })?;
            if let Some(s) = secrets.get(&(r as u32)) {
                d.secrets = s.clone();
            }
            Ok(d)
        });
        self.ids.secrets = secrets;
        out
    }

    /// Reads the staged bytes of `records` (ascending staging indexes) and
    /// makes each into a `T`, in order.
    fn read<T>(
        &mut self,
        records: &[usize],
        mut each: impl FnMut(usize, &[u8]) -> Result<T, StagingError>,
    ) -> Result<Vec<T>, StagingError> {
        let mut buf = Vec::new();
        let spans: Vec<(usize, u64, u32)> = records
            .iter()
            .filter_map(|&r| self.ids.spans.get(r).map(|&(o, l)| (r, o, l)))
            .collect();
        let mut out = Vec::with_capacity(spans.len());
        let mut i = 0;
        while i < spans.len() {
            // Records staged close together are read in one go (the
            // bytes between them too, when that is less than READ_GAP).
            let (_, start, first) = spans[i];
            let mut end = start + u64::from(first);
            let mut j = i + 1;
            while let Some(&(_, o, l)) = spans.get(j) {
                if o < end || o - end > READ_GAP || o + u64::from(l) - start > READ_RUN {
                    break;
                }
                end = o + u64::from(l);
                j += 1;
            }
            buf.resize((end - start) as usize, 0);
            self.file
                .seek(SeekFrom::Start(start))
                .and_then(|_| self.file.read_exact(&mut buf))
                .map_err(io_err("read"))?;
            for &(r, o, l) in &spans[i..j] {
                let at = (o - start) as usize;
                let bytes = buf.get(at..at + l as usize).unwrap_or_default();
                out.push(each(r, bytes)?);
            }
            i = j;
        }
        Ok(out)
    }
}

/// At most this many bytes of staged records are read at once.
const READ_RUN: u64 = 1 << 20;

/// Records at most this many bytes apart are read together.
const READ_GAP: u64 = 16 << 10;

/// What [`apply_staged`] did.
#[derive(Debug, Default)]
pub struct StagedOutcome {
    /// The counts of every batch's plan, added up.
    pub summary: Summary,
    /// Every batch's writes, in one report.
    pub report: ApplyReport,
    /// How many batches were planned.
    pub batches: usize,
    /// [`apply_staged_until`]'s callback stopped it before the last batch.
    pub stopped: bool,
    /// Devices neither read nor planned: their records are those the last
    /// sync found their asset up to date with, and nothing wrote the asset
    /// since (see [`apply_staged`], "Unchanged devices"). Counted in
    /// `summary.unchanged` too.
    pub skipped: usize,
    /// Assets marked up to date with their records this time
    /// ([`AssetWrite::Seal`](crate::store::AssetWrite::Seal)), for the next
    /// sync to skip.
    pub sealed: usize,
}

/// [`apply_staged`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum StagedError {
    /// The configuration is not usable (nothing was written).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The inventory could not be read (nothing was written).
    #[error("cannot read the inventory: {error}")]
    Load {
        /// The store's error.
        #[source]
        error: StoreError,
    },
    /// The staged records could not be read back; what the earlier batches
    /// wrote is in `done`.
    #[error("{error}")]
    Staging {
        /// What failed.
        #[source]
        error: StagingError,
        /// What was done before.
        done: Box<StagedOutcome>,
    },
    /// The store failed as a whole; `done` holds every write made, this
    /// batch's included. Sync again to resume: created assets carry their
    /// identifiers, so the rerun converges without duplicates.
    #[error("apply stopped after {} writes while {what}: {error}", done.report.writes)]
    Apply {
        /// What was being written.
        what: String,
        /// The store's error.
        #[source]
        error: StoreError,
        /// What was done before, this batch's writes included.
        done: Box<StagedOutcome>,
    },
}

fn absorb(total: &mut ApplyReport, r: ApplyReport) {
    total.employees_created.extend(r.employees_created);
    total.created.extend(r.created);
    total.updated.extend(r.updated);
    total.status_changed.extend(r.status_changed);
    total.failures.extend(r.failures);
    total.writes += r.writes;
    total.employees_existing.extend(r.employees_existing);
    total.employees_name_taken.extend(r.employees_name_taken);
    total.retried += r.retried;
    total.retry_rounds += r.retry_rounds;
}

fn add(total: &mut Summary, s: &Summary) {
    total.create += s.create;
    total.update += s.update;
    total.unchanged += s.unchanged;
    total.conflict += s.conflict;
    total.skip += s.skip;
    total.employee_create += s.employee_create;
}

/// Plans and applies `staged` against `store`'s inventory, one batch of at most
/// `batch_records` records and assets at a time ([`Staged::batches`]),
/// calling `on_batch` with each batch's plan and what its apply did.
///
/// The result is the inventory one [`plan`](crate::upsert::plan()) and [`apply`](crate::upsert::apply()) over everything
/// would leave (store ids aside): batches never split records and assets that
/// share an identifier, and the employees a batch creates are known to the
/// batches after it (a user of devices in two batches is created once).
/// `full_listings` is as for [`plan`](crate::upsert::plan()).
///
/// Memory holds one batch's records, assets and plan at a time, plus the
/// inventory's employees and every asset's id: the inventory is read with
/// [`Store::load_for_matching`] (identifier fields only) to form the
/// batches, then each batch's assets with [`Store::load_assets`].
///
/// # Unchanged devices
///
/// A device (records and the one asset they match) that a sync planned and
/// found up to date is *marked*: its asset gets the digest of the records
/// ([`AssetWrite::Seal`](crate::store::AssetWrite::Seal), conditional on
/// the asset's [`Revision`](crate::store::Revision) when it was read). The
/// next sync that stages the same records for it skips it: the asset is
/// not read, the records are not read back nor planned, and the plan
/// reports it as unchanged ([`StagedOutcome::skipped`]). The store clears
/// a mark with any write of the asset's fields, by any writer, so a device
/// is planned again as soon as its records or its asset change. The digest
/// covers the configuration, this crate's version, the inventory's
/// employees, the users of every staged record, and the full listings of
/// vendors the device has no record from (it may be missing from them). Devices with secrets, with a user who is not an employee yet, or
/// that the plan reports anything else about (a conflict, a superseded
/// record, a lifecycle event) are never marked. A store that keeps no
/// revisions (`Asset::revision` is `None`) marks nothing and skips nothing.
pub async fn apply_staged<S: Store + ?Sized>(
    staged: &mut Staged<'_>,
    config: &Config,
    full_listings: &[Listing],
    store: &S,
    batch_records: usize,
    mut on_batch: impl FnMut(Plan, &ApplyReport),
) -> Result<StagedOutcome, StagedError> {
    apply_staged_until(
        staged,
        config,
        full_listings,
        store,
        batch_records,
        |p, r| {
            on_batch(p, r);
            ControlFlow::Continue(())
        },
    )
    .await
}

/// [`apply_staged`], stopping after a batch when `on_batch` returns
/// [`ControlFlow::Break`] ([`StagedOutcome::stopped`]). Every batch is
/// written whole, so stopping leaves the inventory consistent; the next
/// sync does the rest.
pub async fn apply_staged_until<S: Store + ?Sized>(
    staged: &mut Staged<'_>,
    config: &Config,
    full_listings: &[Listing],
    store: &S,
    batch_records: usize,
    on_batch: impl FnMut(Plan, &ApplyReport) -> ControlFlow<()>,
) -> Result<StagedOutcome, StagedError> {
    config.validate()?;
    let skeleton = store
        .load_for_matching(&staged.hashes.asset_fields())
        .await
        .map_err(|error| StagedError::Load { error })?;
    apply_staged_loaded(
        staged,
        skeleton,
        config,
        full_listings,
        store,
        batch_records,
        on_batch,
    )
    .await
}

/// [`apply_staged_until`] with the inventory already read with
/// [`Store::load_for_matching`] of [`Staging::matching_fields`] (the sync
/// engine reads it while the sources are read). An older snapshot only
/// means more races, which are planned again as any other.
pub(crate) async fn apply_staged_loaded<S: Store + ?Sized>(
    staged: &mut Staged<'_>,
    skeleton: Inventory,
    config: &Config,
    full_listings: &[Listing],
    store: &S,
    batch_records: usize,
    mut on_batch: impl FnMut(Plan, &ApplyReport) -> ControlFlow<()>,
) -> Result<StagedOutcome, StagedError> {
    config.validate()?;
    let (mut batches, comp) = staged.split(&skeleton, batch_records);
    let shape = Shape::of(comp, &skeleton, staged, config, full_listings);
    let skips = Skips::take(&mut batches, staged, &skeleton, &shape);
    let ids: Vec<String> = skeleton.assets.into_iter().map(|a| a.id).collect();
    let mut employees = skeleton.employees;
    let mut done = StagedOutcome::default();
    // The assets of batch `i` (`None` past the last batch), read by a
    // future that owns the ids it asks for.
    let load = |i: usize| {
        let wanted: Option<Vec<&str>> = batches.get(i).map(|batch| {
            batch
                .assets
                .iter()
                .filter_map(|&i| ids.get(i).map(String::as_str))
                .collect()
        });
        Box::pin(async move {
            let wanted = wanted?;
            let n = wanted.len();
            Some(store.load_assets(&wanted).await.map_err(|e| (n, e)))
        })
    };
    // The batches go through three steps: their assets are read, they are
    // planned, they are written. While batch i is written, batch i + 1 is
    // planned and the assets of batch i + 2 are read, so the writes (on
    // the store's side: its thread, its server) and the planning (here)
    // overlap. Batches share no asset; the one thing a batch's plan takes
    // from the writes before it is which employees exist, and the
    // employees the batch being written creates are handed to the next
    // plan as pending (written as "the employee with this email", which
    // the store resolves after the write before). A snapshot older by a
    // batch only means more races, planned again as any other.
    let (first_assets, second_assets) = futures::future::join(load(0), load(1)).await;
    let mut next: Option<Result<Prepared, Unprepared>> = match (batches.first(), first_assets) {
        (Some(b), Some(assets)) => {
            let records = staged.records(b);
            Some(prepare(
                records,
                assets,
                &employees,
                &HashSet::new(),
                config,
                full_listings,
                &staged.ids.users,
            ))
        }
        _ => None,
    };
    let mut ahead = second_assets;
    for bi in 0..batches.len() {
        let Some(prepared) = next.take() else { break };
        let Prepared {
            records,
            sub,
            plan: p,
        } = match prepared {
            Ok(x) => x,
            Err(e) => return Err(e.with_done(done)),
        };
        // Batch i + 1's records, read now (the staging file is ours alone).
        let next_records = batches.get(bi + 1).map(|b| staged.records(b));
        let users = &staged.ids.users;
        let pending: HashSet<String> = p
            .employees
            .iter()
            .filter(|e| e.action == EmployeeActionKind::Create)
            .map(|e| e.email.clone())
            .collect();
        let next_assets = ahead.take();
        let mut report = ApplyReport::default();
        // Polled in this order: the write starts (a store that works on a
        // thread of its own or a server gets it at once), the read of
        // batch i + 2 is asked for, then batch i + 1 is planned here. The
        // read is awaited beside the write, never after it, so a store
        // that serializes its calls is never left waiting for a call not
        // polled.
        let (written, later, planned) = futures::future::join3(
            write_with_retries(
                p,
                &records,
                &sub.assets,
                &employees,
                config,
                users,
                store,
                &mut report,
            ),
            load(bi + 2),
            async {
                match (next_records, next_assets) {
                    (Some(r), Some(a)) => Some(prepare(
                        r,
                        a,
                        &employees,
                        &pending,
                        config,
                        full_listings,
                        users,
                    )),
                    _ => None,
                }
            },
        )
        .await;
        ahead = later;
        next = planned;
        let mut p = match written {
            Ok(p) => p,
            Err((what, error, p)) => {
                add(&mut done.summary, &p.summary);
                done.batches += 1;
                absorb(&mut done.report, report);
                return Err(StagedError::Apply {
                    what,
                    error,
                    done: Box::new(done),
                });
            }
        };
        done.sealed += seal(
            &p,
            &records,
            &batches[bi],
            &sub.assets,
            &ids,
            &shape,
            staged,
            store,
        )
        .await;
        drop(records);
        match skips.report(bi, &ids, staged, &mut p) {
            Ok(n) => done.skipped += n,
            Err(error) => {
                return Err(StagedError::Staging {
                    error,
                    done: Box::new(done),
                });
            }
        }
        // The employees this batch created are existing ones for the next.
        let planned: HashMap<&str, &NewEmployee> = p
            .employees
            .iter()
            .filter(|e| e.action == EmployeeActionKind::Create)
            .filter_map(|e| Some((e.email.as_str(), e.employee.as_ref()?)))
            .collect();
        for (email, id) in &report.employees_created {
            if let Some(new) = planned.get(email.as_str()) {
                employees.push(Employee {
                    id: id.clone(),
                    first_name: new.first_name.clone(),
                    last_name: new.last_name.clone(),
                    emails: new.emails.clone(),
                });
            }
        }
        drop(planned);
        add(&mut done.summary, &p.summary);
        done.batches += 1;
        let flow = on_batch(p, &report);
        absorb(&mut done.report, report);
        if flow.is_break() {
            done.stopped = true;
            break;
        }
    }
    Ok(done)
}

/// A batch planned, ready to be written.
struct Prepared {
    records: Vec<SourceDevice>,
    sub: Inventory,
    plan: Plan,
}

/// Why a batch could not be planned; the batches before it are written
/// first, and go into the error's `done`.
enum Unprepared {
    Staging(StagingError),
    Load(usize, StoreError),
    Config(ConfigError),
}

impl Unprepared {
    fn with_done(self, done: StagedOutcome) -> StagedError {
        let done = Box::new(done);
        match self {
            Unprepared::Staging(error) => StagedError::Staging { error, done },
            Unprepared::Load(n, error) => StagedError::Apply {
                what: format!("reading {n} assets"),
                error,
                done,
            },
            // `done` holds nothing the caller could not count again: a
            // configuration error is found before anything is written.
            Unprepared::Config(e) => StagedError::Config(e),
        }
    }
}

/// Plans one batch from its records and assets.
fn prepare(
    records: Result<Vec<SourceDevice>, StagingError>,
    assets: Result<Vec<Asset>, (usize, StoreError)>,
    employees: &[Employee],
    pending: &HashSet<String>,
    config: &Config,
    full_listings: &[Listing],
    users: &Users,
) -> Result<Prepared, Unprepared> {
    let records = records.map_err(Unprepared::Staging)?;
    let assets = assets.map_err(|(n, e)| Unprepared::Load(n, e))?;
    let sub = Inventory {
        assets,
        employees: Vec::new(),
    };
    let plan = plan_batch(
        &sub,
        &Employees {
            existing: employees,
            pending,
        },
        &records,
        config,
        full_listings,
        users,
    )
    .map_err(Unprepared::Config)?;
    Ok(Prepared { records, sub, plan })
}

/// How many times [`apply_staged`] plans a batch's records again after
/// losing races with other writers, before it reports them as failures.
pub const MAX_RETRY_ROUNDS: usize = 8;

/// Writes `p`; then, while some writes lost a race with another writer
/// ([`StoreError::is_race`]: a value another sync claimed first, a field
/// changed since it was read), reads those records' assets again (the ones
/// planned and every asset now holding one of their identifiers), plans
/// the records again and writes that plan. Bounded by
/// [`MAX_RETRY_ROUNDS`]; what still races then is a failure.
///
/// Returns the plan as it was carried out: each raced action replaced by
/// what planning it again decided, and the counts to match.
#[allow(clippy::too_many_arguments)]
async fn write_with_retries<S: Store + ?Sized>(
    mut p: Plan,
    records: &[SourceDevice],
    assets: &[Asset],
    employees: &[Employee],
    config: &Config,
    users: &Users,
    store: &S,
    report: &mut ApplyReport,
) -> Result<Plan, (String, StoreError, Plan)> {
    let mut races = match write_plan(&p, store, report, true).await {
        Ok(r) => r,
        Err((what, error, r)) => {
            *report = *r;
            return Err((what, error, p));
        }
    };
    let rules = p.identifier_rules.clone();
    let mut round = 0;
    // The plan the races are of (`None`: `p` itself), and where its
    // actions start in `p`.
    let mut current: Option<Plan> = None;
    let mut base = 0usize;
    let mut raced_any =
        !report.employees_existing.is_empty() || !report.employees_name_taken.is_empty();
    while !races.is_empty() {
        raced_any = true;
        round += 1;
        let cur = current.as_ref().unwrap_or(&p);
        if round > MAX_RETRY_ROUNDS {
            for (origin, error) in races {
                let what = match origin {
                    Origin::Action(i) => format!(
                        "write from {} (still racing after {MAX_RETRY_ROUNDS} rounds)",
                        super::apply::sources_text(&cur.actions[i].sources)
                    ),
                    Origin::Lifecycle(i) => format!(
                        "status of asset {}",
                        cur.lifecycle[i].target_id.as_deref().unwrap_or("?")
                    ),
                };
                report
                    .failures
                    .push(super::apply::ApplyFailure { what, error });
            }
            break;
        }
        report.retried += races.len();
        report.retry_rounds += 1;
        // The records of the raced actions, and the assets to read again.
        let mut wanted: Vec<&SourceDevice> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        let mut claims = Vec::new();
        let mut raced_actions = Vec::new();
        for (origin, error) in &races {
            let Origin::Action(i) = *origin else {
                // A status another writer changed: theirs stands.
                tracing::debug!(%error, "lifecycle status changed by another writer");
                continue;
            };
            let a = &cur.actions[i];
            raced_actions.push(base + i);
            for s in &a.sources {
                wanted.extend(records.iter().filter(|r| {
                    r.vendor == s.vendor
                        && r.entity == s.entity
                        && r.source_id == s.source_id.as_str()
                }));
            }
            let mut fields: crate::Fields = a
                .target_id
                .as_deref()
                .and_then(|t| assets.iter().find(|x| x.id == t))
                .map(|x| x.fields.clone())
                .unwrap_or_default();
            for (field, change) in a.changes.iter() {
                fields.remove(field);
                if let Some(super::plan::ChangeValue::Value(v)) = &change.to {
                    fields.set(field, Some(v.clone()));
                }
            }
            claims.extend(rules.claims(&fields));
            if let Some(t) = &a.target_id {
                ids.push(t.to_string());
            }
            if let StoreError::Claimed { holder, .. } = error
                && let Some(h) = holder.strip_prefix("asset ")
            {
                ids.push(h.to_string());
            }
        }
        claims.sort();
        claims.dedup();
        let holders = store.holders(&rules, &claims).await.map_err(|e| {
            (
                "reading the assets a race touched".to_string(),
                e,
                p.clone(),
            )
        })?;
        ids.extend(holders.into_iter().map(|h| h.holder));
        ids.sort();
        ids.dedup();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let fresh = store.load_assets(&id_refs).await.map_err(|e| {
            (
                "reading the assets a race touched".to_string(),
                e,
                p.clone(),
            )
        })?;
        let again: Vec<SourceDevice> = {
            let mut seen = std::collections::HashSet::new();
            wanted
                .into_iter()
                .filter(|r| seen.insert((r.vendor, r.entity, r.source_id.clone())))
                .cloned()
                .collect()
        };
        let sub = Inventory {
            assets: fresh,
            employees: employees.to_vec(),
        };
        // No lifecycle on a second look: the first plan decided it.
        let next = plan_with_users(&sub, &again, config, &[], users).map_err(|e| {
            (
                "planning again".to_string(),
                StoreError::Rejected {
                    record: "plan".into(),
                    reason: e.to_string(),
                },
                p.clone(),
            )
        })?;
        // The plan as carried out: raced actions replaced.
        raced_actions.sort_unstable();
        for i in raced_actions.into_iter().rev() {
            p.actions.remove(i);
        }
        base = p.actions.len();
        p.actions.extend(next.actions.iter().cloned());
        p.employees.extend(
            next.employees
                .iter()
                .filter(|e| !p.employees.iter().any(|x| x.email == e.email))
                .cloned()
                .collect::<Vec<_>>(),
        );
        races = match write_plan(&next, store, report, true).await {
            Ok(r) => r,
            Err((what, error, r)) => {
                *report = *r;
                return Err((what, error, p));
            }
        };
        current = Some(next);
    }
    if raced_any {
        p.count();
        p.summary.employee_create = report.employees_created.len();
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Assignee, Entity, Vendor};
    use crate::store::MemoryStore;
    use crate::upsert::plan;
    use secrecy::{ExposeSecret, SecretString};

    fn computer(id: &str, serial: &str, email: &str, full_name: Option<&str>) -> SourceDevice {
        let mut d = SourceDevice::new(Vendor::Jamf, Entity::Computer, id);
        d.fields.serial("serial_number", Some(serial));
        d.assignee = Some(Assignee {
            email: Some(email.into()),
            full_name: full_name.map(str::to_string),
            ..Assignee::default()
        });
        d
    }

    /// Found by fuzzing: two devices of one user, the first without a name.
    /// One plan skipped the employee (the first device decided), while
    /// batches that split the two devices created it from the second. Now
    /// the name comes from every record, in both.
    #[test]
    fn a_user_is_decided_alike_in_one_plan_and_in_batches() {
        let config = Config::default();
        let records = [
            computer("1", "C02XK1ABJG5H", "ana@example.com", None),
            computer("2", "F9FZ3LLJMF3M", "ana@example.com", Some("Ana Díaz")),
            computer("3", "DMPXK1ABJG5X", "bo@example.com", Some("Bo Li")),
            // Bo's name under another email, first seen later: not created.
            computer("4", "DMPXK1ABJG5Y", "bo.li@home.example", Some("Bo Li")),
        ];
        let one = plan(&Inventory::default(), &records, &config, &[]).expect("plan");
        assert_eq!(one.summary.employee_create, 2, "Ana and Bo");
        assert_eq!(one.likely_duplicates.len(), 1);
        assert_eq!(one.likely_duplicates[0].email, "bo.li@home.example");

        let mut staging = Staging::new(&config).expect("staging");
        for r in records.iter().rev() {
            staging.push(r.clone()).expect("push");
        }
        // Staged in reverse: Bo's home email claims the name first now.
        let mut staged = staging.finish().expect("finish");
        assert_eq!(staged.batches(&Inventory::default(), 1).len(), 4);
        let store = MemoryStore::new(Inventory::default());
        let mut likely = Vec::new();
        let done = futures::executor::block_on(apply_staged(
            &mut staged,
            &config,
            &[],
            &store,
            1,
            |p, _| likely.extend(p.likely_duplicates.into_iter().map(|l| l.email)),
        ))
        .expect("apply");
        let reversed: Vec<SourceDevice> = records.iter().rev().cloned().collect();
        let one_reversed = plan(&Inventory::default(), &reversed, &config, &[]).expect("plan");
        assert_eq!(done.summary, one_reversed.summary);
        assert_eq!(likely, ["bo@example.com"]);
        let mut emails: Vec<String> = store
            .snapshot()
            .employees
            .iter()
            .flat_map(|e| e.emails.clone())
            .collect();
        emails.sort();
        assert_eq!(emails, ["ana@example.com", "bo.li@home.example"]);
    }

    #[test]
    fn secrets_stay_off_the_disk_and_come_back() {
        let config = Config::default();
        let mut d = computer("1", "C02XK1ABJG5H", "ana@example.com", None);
        d.secrets.insert(
            "recovery_key",
            SecretString::from("SECRET-RK-1234-5678".to_string()),
        );
        let mut staging = Staging::new(&config).expect("staging");
        staging.push(d).expect("push");
        let mut staged = staging.finish().expect("finish");
        let mut bytes = Vec::new();
        staged.file.seek(SeekFrom::Start(0)).expect("seek");
        staged.file.read_to_end(&mut bytes).expect("read");
        assert!(String::from_utf8_lossy(&bytes).contains("C02XK1ABJG5H"));
        assert!(!String::from_utf8_lossy(&bytes).contains("SECRET-RK"));
        let back = staged
            .records(&Batch {
                assets: vec![],
                records: vec![0],
            })
            .expect("read back");
        assert_eq!(
            back[0]
                .secrets
                .get("recovery_key")
                .map(|s| s.expose_secret().to_string())
                .as_deref(),
            Some("SECRET-RK-1234-5678")
        );
        assert!(!format!("{staged:?}").contains("SECRET"));
    }
}
