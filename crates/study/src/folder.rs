//! A report folder ([`ReportDir`]): `study.toml`, `runs/`, `study.json`,
//! SUMMARY.md and the plots, guarded so that it cannot be corrupted.
//!
//! - **One writer.** A process that writes the folder holds an OS lock on
//!   its `.lock` file: exclusive for a study, a resume, a merge into it or a
//!   report regeneration; shared for the shards of one study, which may
//!   write one folder together. A second writer is refused with the holder's
//!   process id. The OS drops the lock when its process ends, however it
//!   ends, so a killed study never blocks the next one.
//! - **No silent loss.** A folder that holds another study is refused,
//!   naming what differs, unless the caller asks to overwrite it; the same
//!   study again is a resume. Outputs that the folder's last writer listed
//!   (`.outputs`) and this one did not write again (a plot of a length no
//!   longer studied) are removed, and nothing else.
//! - **Runs are checked, not trusted.** A run file is kept only if it reads
//!   back and its fingerprint matches the plan's
//!   ([`Job::fingerprint`]); every other one is named, with the reason.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::{Study, differences};
use crate::plan::Job;
use crate::report::{RunReport, SCHEMA, StudyReport};
use crate::{Error, Result, summary};

/// The resolved study in a report folder, written before any run starts.
pub const STUDY_FILE: &str = "study.toml";

/// The lock file of a report folder.
pub const LOCK_FILE: &str = ".lock";

/// The list of outputs the folder's last writer wrote (SUMMARY.md, plots):
/// what the next writer may remove if it does not write them again.
pub const OUTPUTS_FILE: &str = ".outputs";

/// The folder's data, never counted among the regenerable outputs.
const DATA_FILES: &[&str] = &[STUDY_FILE, "study.json", LOCK_FILE, OUTPUTS_FILE, "runs"];

/// Whether `name` can be an output of the folder (SUMMARY.md, a plot): a
/// plain name in the folder, no hidden file, none of the study's data
/// (compared without case, for filesystems that ignore it).
fn is_output(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !DATA_FILES.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// How a process holds a folder's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// The only writer (a study, a resume, a merge, a report).
    Exclusive,
    /// One of the shards of a study, which share the folder.
    Shared,
}

/// A lock held on a report folder; dropping the last guard releases it.
#[must_use = "the folder is unlocked when the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard {
    state: Arc<Mutex<LockState>>,
}

#[derive(Debug, Default)]
struct LockState {
    file: Option<(File, LockMode)>,
    holders: usize,
    /// The folder's path, if this process created it, its lock file or
    /// `runs/`: what it created is removed again on release if no study was
    /// written (a refused command leaves nothing behind).
    created: Option<Created>,
}

#[derive(Debug)]
struct Created {
    dir: PathBuf,
    paths: Vec<PathBuf>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.holders = s.holders.saturating_sub(1);
        if s.holders == 0 {
            if let Some(c) = s.created.take()
                && !c.dir.join(STUDY_FILE).exists()
            {
                // Newest first; a folder is removed only if empty.
                for p in c.paths.iter().rev() {
                    if p.is_dir() {
                        let _ = std::fs::remove_dir(p);
                    } else {
                        let _ = std::fs::remove_file(p);
                    }
                }
            }
            // Closing the file releases the lock.
            s.file = None;
        }
    }
}

/// What to do with a run file in `runs/` that does not match the plan (a
/// run of another configuration, another build, or a damaged file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mismatched {
    /// Name it and train the run again (the default).
    #[default]
    Retrain,
    /// Name it and stop.
    Refuse,
}

impl Mismatched {
    /// Every choice, in `--help` order.
    pub const ALL: [Mismatched; 2] = [Mismatched::Retrain, Mismatched::Refuse];

    /// The choice's name (`retrain`, `refuse`).
    pub fn name(self) -> &'static str {
        match self {
            Mismatched::Retrain => "retrain",
            Mismatched::Refuse => "refuse",
        }
    }
}

impl std::str::FromStr for Mismatched {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| Error::invalid("mismatched", s, "use retrain or refuse"))
    }
}

/// A run file that was not kept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was not kept.
    pub reason: String,
    /// Whether it is no job's of the study (left alone) rather than a
    /// job's run that does not match (trained again or refused).
    pub foreign: bool,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

/// A report folder: `study.toml`, `runs/`, `study.json` and what the report
/// crates add (SUMMARY.md, plots). Clones share the folder's lock.
#[derive(Debug, Clone)]
pub struct ReportDir {
    dir: PathBuf,
    lock: Arc<Mutex<LockState>>,
    written: Arc<Mutex<BTreeSet<String>>>,
}

impl ReportDir {
    /// The folder at `dir` (not created, not locked yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: Arc::default(),
            written: Arc::default(),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The folder's `runs/`.
    pub fn runs(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// Creates the folder if need be and locks it (see the module docs),
    /// refusing if another process holds it: the error names the folder
    /// and the holder. Locking again through this `ReportDir` or a clone of
    /// it only counts another holder (an exclusive lock over a shared one
    /// is refused); another `ReportDir` of the same folder is another
    /// holder, refused like another process. The folder, lock file and
    /// `runs/` an exclusive lock created are removed again on release if no
    /// study was written into the folder.
    pub fn lock(&self, mode: LockMode) -> Result<LockGuard> {
        let mut state = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, held)) = &state.file {
            if *held == LockMode::Shared && mode == LockMode::Exclusive {
                return Err(Error::Folder {
                    path: self.dir.clone(),
                    problem: "is locked shared by this process, cannot lock it exclusively".into(),
                });
            }
            state.holders += 1;
            return Ok(LockGuard {
                state: self.lock.clone(),
            });
        }
        let mut created = Created {
            dir: self.dir.clone(),
            paths: Vec::new(),
        };
        if !self.dir.is_dir() {
            created.paths.push(self.dir.clone());
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::Folder {
            path: self.dir.clone(),
            problem: format!("cannot create it ({e}): choose a writable location"),
        })?;
        let path = self.dir.join(LOCK_FILE);
        if !path.exists() {
            File::create(&path).map_err(|e| lock_file_error(&path, e, "create"))?;
            created.paths.push(path.clone());
        }
        let file = lock_file(&path, mode, &self.dir)?;
        // Who holds it, for the next writer's message (best effort: shards
        // share the lock and the last one to start names itself).
        let argv: Vec<String> = std::env::args().collect();
        let who = format!(
            "process {}{} ({})",
            std::process::id(),
            if mode == LockMode::Shared {
                " and maybe other shards"
            } else {
                ""
            },
            seqdata::io::abbreviate(&argv.join(" "), 160)
        );
        let _ = std::fs::write(&path, who + "\n");
        state.file = Some((file, mode));
        state.holders = 1;
        if !self.runs().is_dir() {
            created.paths.push(self.runs());
        }
        // Only an exclusive holder cleans up: a shard's folder may be in use
        // by the other shards.
        state.created = (mode == LockMode::Exclusive).then_some(created);
        Ok(LockGuard {
            state: self.lock.clone(),
        })
    }

    fn holds_lock(&self) -> Option<LockMode> {
        let state = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        state.file.as_ref().map(|(_, m)| *m)
    }

    /// Writes `bytes` to the file `name` in the folder, atomically. Every
    /// name but the study's data (`study.toml`, `study.json`, `runs/`) is
    /// listed as an output by [`Self::finish`].
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        if is_output(name) {
            let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
            if written.insert(name.to_string()) {
                // Listed before it exists, so that a kill before
                // [`Self::finish`] never leaves an output no list names.
                let mut list: BTreeSet<String> = self.listed_outputs().into_iter().collect();
                if !list.contains(name) {
                    list.extend(written.iter().cloned());
                    self.write_list(&list)?;
                }
            }
        }
        seqdata::io::write_atomic(&self.dir.join(name), bytes)?;
        Ok(())
    }

    fn write_list(&self, names: &BTreeSet<String>) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(names).expect("names serialise");
        text.push(b'\n');
        seqdata::io::write_atomic(&self.dir.join(OUTPUTS_FILE), &text)?;
        Ok(())
    }

    /// Writes `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(value).expect("reports serialise");
        text.push(b'\n');
        self.write(name, &text)
    }

    /// Ends a writing session: removes the outputs the folder's last writer
    /// listed that this one did not write again (a plot of a length no
    /// longer in the study), and lists this one's. Returns the removed
    /// names. Files no writer listed are never touched.
    pub fn finish(&self) -> Result<Vec<String>> {
        let _guard = self.lock(LockMode::Exclusive)?;
        let written = self
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut removed = Vec::new();
        for name in self.listed_outputs() {
            if !written.contains(&name) && self.remove_output(&name)? {
                removed.push(name);
            }
        }
        self.write_list(&written)?;
        Ok(removed)
    }

    /// The outputs `.outputs` lists (only names of outputs: see
    /// [`is_output`]).
    fn listed_outputs(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.dir.join(OUTPUTS_FILE)) else {
            return Vec::new();
        };
        let names: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        names.into_iter().filter(|n| is_output(n)).collect()
    }

    /// Removes the file `name` if it is a regular file.
    fn remove_output(&self, name: &str) -> Result<bool> {
        let path = self.dir.join(name);
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            return Ok(false);
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::Folder {
                path,
                problem: format!("cannot remove a stale output ({e})"),
            }),
        }
    }

    /// Prepares the folder for the whole of `study`, under an exclusive
    /// lock (taken here if the caller holds none): creates it and `runs/`,
    /// proves it can be written, removes interrupted writes, and checks what
    /// it holds:
    /// - nothing: a new study (with `resume`, an error: nothing to resume);
    /// - this very study: kept, to be resumed;
    /// - another study (or a damaged one): refused, naming what differs,
    ///   unless `overwrite`, which removes the old study's runs, report and
    ///   listed outputs.
    ///
    /// Returns what `overwrite` removed.
    pub fn prepare(
        &self,
        study: &Study,
        resume: bool,
        overwrite: bool,
        provenance: Option<&provenance::Provenance>,
    ) -> Result<Vec<String>> {
        let _guard = self.lock(LockMode::Exclusive)?;
        self.create()?;
        self.remove_interrupted_writes()?;
        let mut removed = Vec::new();
        match self.held_study() {
            Held::Nothing if resume => {
                return Err(Error::Resume(format!(
                    "no interrupted study to resume ({} is missing); run without --resume",
                    self.dir.join(STUDY_FILE).display()
                )));
            }
            Held::Nothing => {}
            Held::Same(old) if old == *study => {}
            held if overwrite => {
                let _ = held;
                removed = self.clear()?;
            }
            Held::Same(old) if resume => {
                return Err(Error::Occupied {
                    path: self.dir.clone(),
                    what: differences(&old, study).join("; "),
                    fix: "give the flags of the study in it to resume it, or another --out",
                });
            }
            Held::Same(old) => {
                return Err(self.refusal(&differences(&old, study).join("; ")));
            }
            Held::Damaged(problem) => return Err(self.refusal(&problem)),
        }
        self.write(STUDY_FILE, study_file(study, provenance).as_bytes())?;
        Ok(removed)
    }

    fn refusal(&self, what: &str) -> Error {
        Error::Occupied {
            path: self.dir.clone(),
            what: what.to_string(),
            fix: "give another --out, or --overwrite to replace it",
        }
    }

    fn shard_refusal(&self, what: &str) -> Error {
        Error::Occupied {
            path: self.dir.clone(),
            what: what.to_string(),
            fix: "give every shard the same study, or another --out",
        }
    }

    /// Prepares the folder for one shard, under a shared lock (taken here
    /// if the caller holds none): a folder that holds no study yet gets
    /// `study.toml`, published only if no other shard published one first;
    /// a folder that holds a study must hold this one.
    pub fn prepare_shard(
        &self,
        study: &Study,
        provenance: Option<&provenance::Provenance>,
    ) -> Result<()> {
        let _guard = self.lock(LockMode::Shared)?;
        self.create()?;
        let path = self.dir.join(STUDY_FILE);
        if !path.exists() {
            // Written aside and linked into place: of shards starting
            // together, one publishes, and the others read its file.
            let aside = self.dir.join(format!(
                ".{STUDY_FILE}{}shard-{}",
                seqdata::io::TEMP_MARK,
                std::process::id()
            ));
            seqdata::io::write_atomic(&aside, study_file(study, provenance).as_bytes())?;
            let linked = std::fs::hard_link(&aside, &path);
            std::fs::remove_file(&aside).ok();
            match linked {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                // A filesystem without hard links: written in place, if
                // still missing (shards started the same instant may race).
                Err(_) if !path.exists() => {
                    return self.write(STUDY_FILE, study_file(study, provenance).as_bytes());
                }
                Err(_) => {}
            }
        }
        match self.held_study() {
            Held::Same(old) if old == *study => Ok(()),
            Held::Same(old) => Err(self.shard_refusal(&differences(&old, study).join("; "))),
            Held::Nothing => Err(self.shard_refusal("its study file vanished")),
            Held::Damaged(problem) => Err(self.shard_refusal(&problem)),
        }
    }

    /// Prepares the folder a merge writes, under an exclusive lock (taken
    /// here if the caller holds none), like [`Self::prepare`] for a study
    /// being resumed: a folder of another study is refused unless
    /// `overwrite`.
    pub(crate) fn prepare_merge(
        &self,
        study: &Study,
        overwrite: bool,
        provenance: Option<&provenance::Provenance>,
    ) -> Result<Vec<String>> {
        self.prepare(study, false, overwrite, provenance)
    }

    /// Writes what the report's numbers make: `SUMMARY.md` and the tidy
    /// tables ([`tables::all`](crate::tables::all): `curves.csv`, …).
    pub fn write_summary(&self, report: &StudyReport) -> Result<()> {
        self.write("SUMMARY.md", summary::markdown(report).as_bytes())?;
        for (name, csv) in crate::tables::all(report)? {
            self.write(&name, csv.as_bytes())?;
        }
        Ok(())
    }

    /// Writes `SUMMARY.md`, the tables and `study.json`.
    pub(crate) fn write_report(&self, report: &StudyReport) -> Result<()> {
        self.write_summary(report)?;
        self.write_json("study.json", report)
    }

    /// Creates the folder and `runs/` and proves they can be written.
    fn create(&self) -> Result<()> {
        let runs = self.runs();
        std::fs::create_dir_all(&runs).map_err(|e| Error::Folder {
            path: runs.clone(),
            problem: format!("cannot create it ({e}): choose a writable location"),
        })?;
        for dir in [&self.dir, &runs] {
            let probe = dir.join(format!(".write-probe-{}", std::process::id()));
            seqdata::io::write_atomic(&probe, b"ok").map_err(|e| Error::Folder {
                path: dir.clone(),
                problem: format!("is not writable ({e})"),
            })?;
            std::fs::remove_file(&probe).ok();
        }
        Ok(())
    }

    /// Removes the temporary files of writes that a killed process left
    /// (only under an exclusive lock: no other process is writing).
    fn remove_interrupted_writes(&self) -> Result<()> {
        if self.holds_lock() != Some(LockMode::Exclusive) {
            return Ok(());
        }
        for dir in [self.dir.clone(), self.runs()] {
            for path in list(&dir)? {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if seqdata::io::is_temp_file(&name) || name.starts_with(".write-probe-") {
                    std::fs::remove_file(&path).map_err(|e| Error::Folder {
                        path: path.clone(),
                        problem: format!("cannot remove an interrupted write ({e})"),
                    })?;
                }
            }
        }
        Ok(())
    }

    /// What `study.toml` holds.
    fn held_study(&self) -> Held {
        let path = self.dir.join(STUDY_FILE);
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A folder with runs or a report but no study file is not empty.
                let runs = list(&self.runs()).unwrap_or_default();
                if self.dir.join("study.json").exists()
                    || runs
                        .iter()
                        .any(|p| p.extension().is_some_and(|e| e == "json"))
                {
                    Held::Damaged(format!("it holds runs or a report but no {STUDY_FILE}"))
                } else {
                    Held::Nothing
                }
            }
            Err(e) => Held::Damaged(format!("{} cannot be read ({e})", path.display())),
            Ok(text) => match Study::from_toml(&text) {
                Ok(s) => Held::Same(s),
                Err(e) => Held::Damaged(format!("{} does not hold a study ({e})", path.display())),
            },
        }
    }

    /// Removes an old study: its runs, study.json, SUMMARY.md and the
    /// outputs it listed in `.outputs` (a folder written before `.outputs`
    /// existed keeps its plots: nothing says which files are the tool's).
    /// Returns the names removed.
    fn clear(&self) -> Result<Vec<String>> {
        let mut names = self.listed_outputs();
        names.extend([
            "study.json".into(),
            "SUMMARY.md".into(),
            OUTPUTS_FILE.into(),
        ]);
        let mut removed = Vec::new();
        for name in names {
            if self.remove_output(&name)? {
                removed.push(name);
            }
        }
        for path in list(&self.runs())? {
            if path.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(&path).map_err(|e| Error::Folder {
                    path: path.clone(),
                    problem: format!("cannot remove an earlier run ({e})"),
                })?;
                removed.push(format!(
                    "runs/{}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
        Ok(removed)
    }

    /// The runs in `runs/` that belong to `jobs` (the study's, or a
    /// shard's) and match the plan, by job, and every run file of `jobs`
    /// not kept, with the reason: unreadable, damaged, another
    /// configuration or another build. A run is kept only if its
    /// fingerprint is the one `study` gives the job on `build`
    /// ([`Job::fingerprint`]). Files that are no job's of the whole study
    /// are named too (`foreign`), and left alone.
    pub fn finished_runs(
        &self,
        study: &Study,
        jobs: &[Job],
        build: &str,
    ) -> (Vec<Option<RunReport>>, Vec<Skipped>) {
        let mut skipped = Vec::new();
        let found = jobs
            .iter()
            .map(|job| {
                let path = self.runs().join(job.file_name());
                if !path.exists() {
                    return None;
                }
                let problems = match RunReport::read(&path) {
                    Err(e) => vec![without_path(&e.to_string(), &path)],
                    Ok(run) => {
                        let p = run.problems(job, study, build);
                        if p.is_empty() {
                            return Some(run);
                        }
                        p
                    }
                };
                skipped.push(Skipped {
                    path,
                    reason: problems.join("; "),
                    foreign: false,
                });
                None
            })
            .collect();
        // Of the whole plan: the runs of other shards sharing the folder are
        // no strangers.
        let names: BTreeSet<String> = study
            .jobs()
            .iter()
            .flat_map(|j| [j.file_name(), j.model_file_name()])
            .collect();
        for path in list(&self.runs()).unwrap_or_default() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let ours = names.contains(name.as_ref())
                || (crate::adaptive::is_adaptive(study)
                    && crate::adaptive::owns_file_name(study, &name));
            if path.extension().is_some_and(|e| e == "json") && !ours {
                skipped.push(Skipped {
                    path,
                    reason: "no run of this study has this name; left as it is".into(),
                    foreign: true,
                });
            }
        }
        (found, skipped)
    }

    /// Reads the folder's `study.json`.
    pub fn read_report(&self) -> Result<StudyReport> {
        let path = self.dir.join("study.json");
        let bytes = seqdata::io::read_limited(&path, "study report")?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Report(format!("{} is not valid JSON: {e}", path.display())))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            other => {
                return Err(Error::Report(format!(
                    "{} has schema {}, not {SCHEMA}: it was written by another version; rerun \
                     the study",
                    path.display(),
                    other.unwrap_or("(none)")
                )));
            }
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            Error::Report(format!(
                "{}: at `{}`: {}",
                path.display(),
                e.path(),
                e.inner()
            ))
        })
    }
}

fn lock_file_error(path: &Path, e: std::io::Error, doing: &str) -> Error {
    Error::Folder {
        path: path.to_path_buf(),
        problem: format!("cannot {doing} the folder's lock file ({e})"),
    }
}

/// Opens and locks the lock file at `path`, refusing if another process
/// holds it. An exclusive lock is taken through a handle open for writing
/// (NFS refuses a write lock on a read-only handle), a shared one through a
/// read-only handle. If another process replaced the file while this one
/// waited for it (a refused command removing the lock file it created), it
/// locks the new file.
fn lock_file(path: &Path, mode: LockMode, dir: &Path) -> Result<File> {
    for _ in 0..8 {
        if !path.exists() {
            // Removed by the refused command that had created it.
            File::create(path).map_err(|e| lock_file_error(path, e, "create"))?;
        }
        let file = match mode {
            LockMode::Exclusive => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .or_else(|_| File::open(path)),
            LockMode::Shared => File::open(path),
        }
        .map_err(|e| lock_file_error(path, e, "open"))?;
        let got = match mode {
            LockMode::Exclusive => file.try_lock(),
            LockMode::Shared => file.try_lock_shared(),
        };
        match got {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy {
                    path: dir.to_path_buf(),
                    holder: holder(path),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(lock_file_error(path, e, "lock")),
        }
        if same_file(&file, path) {
            return Ok(file);
        }
    }
    Err(lock_file_error(
        path,
        std::io::Error::other("it keeps being replaced"),
        "lock",
    ))
}

/// Whether the open `file` is still the one at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Who holds the lock file at `path`, as its holder wrote it.
fn holder(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "another process".into())
}

/// The text of `study.toml`: the resolved study, after a comment saying
/// where it comes from (comments are not part of the study: the file
/// replays the same study whoever wrote it).
fn study_file(study: &Study, provenance: Option<&provenance::Provenance>) -> String {
    let mut text = String::new();
    if let Some(p) = provenance {
        text.push_str("# Written by ");
        text.push_str(&p.describe().replace(['\n', '\r'], " "));
        text.push_str("\n\n");
    }
    text.push_str(&study.to_toml());
    text
}

/// Locks the existing folder `dir` exclusively if it has a lock file
/// (shards, studies and merges leave one): refused while another process
/// writes it. The lock lasts as long as the returned file is open.
pub(crate) fn lock_existing(dir: &Path) -> Result<Option<File>> {
    let path = dir.join(LOCK_FILE);
    if !path.exists() {
        return Ok(None);
    }
    match lock_file(&path, LockMode::Exclusive, dir) {
        Ok(file) => Ok(Some(file)),
        Err(Error::Busy { path, holder }) => Err(Error::Busy { path, holder }),
        // A folder that cannot be locked (read-only media): read as it is.
        Err(_) => Ok(None),
    }
}

enum Held {
    Nothing,
    Same(Study),
    Damaged(String),
}

/// The entries of `dir`, sorted.
pub(crate) fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let folder_error = |e: std::io::Error| Error::Folder {
        path: dir.to_path_buf(),
        problem: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder_error)? {
        out.push(entry.map_err(folder_error)?.path());
    }
    out.sort();
    Ok(out)
}

/// An error message without its leading path (the skip list names it).
fn without_path(message: &str, path: &Path) -> String {
    let p = path.display().to_string();
    message
        .strip_prefix(&p)
        .map(|m| m.trim_start_matches([':', ' ']))
        .unwrap_or(message)
        .to_string()
}
