//! The arrival times of deferred messages, remembered between runs so that
//! counting queues opens only the deferred files it has not seen before.
//!
//! Knowing the oldest deferred message takes its arrival time, which is
//! inside the queue file: opening every deferred file costs about ten
//! times what listing the directories does. A message keeps its queue id,
//! inode and arrival time while it waits in the deferred queue, so they
//! are kept in [`MEMO_FILE`] of the cache directory ([`crate::cache`]; root's, mode 0600; a cache, safe to delete),
//! per queue directory, as `IDHASH INODE ARRIVAL` lines (the queue id's
//! 64-bit FNV-1a hash in hex, so that nothing is allocated per message),
//! and a later run opens only the files whose id and inode it does not
//! know. The queue id and inode together stand for one message: Postfix
//! derives the id from the inode and the microsecond of creation, so
//! another message would need the same inode again created in the same
//! microsecond of a second to be taken for it. A memo that is missing,
//! unreadable, garbled, or not trusted by the rule of [`crate::trust`]
//! (root's or ours, writable by no one else, no link) is ignored, costing
//! only the reads.

use crate::trust;
use std::collections::HashMap;
use std::path::Path;

/// Where the arrival times are kept between runs.
pub const MEMO_FILE: &str = "deferred-arrivals";

/// The largest memo read (about six million deferred messages); a larger
/// one is ignored, costing only the reads.
const MEMO_LIMIT: u64 = 256 << 20;

/// The first line of the memo.
const HEADER: &str = "# postmulti: arrival times of deferred messages (a cache, safe to delete)\n";

/// Known deferred messages of one queue directory: (inode, [`id_hash`] of
/// the queue id) to arrival time (seconds since the epoch).
pub type Known = HashMap<(u64, u64), i64>;

/// The 64-bit FNV-1a hash of a queue id.
pub fn id_hash(id: &[u8]) -> u64 {
    id.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The known deferred messages of every queue directory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArrivalMemo {
    by_queue: HashMap<String, Known>,
    changed: bool,
}

impl ArrivalMemo {
    /// The memo in `path`; empty when it cannot be trusted (the rule of
    /// [`crate::trust`]) or read.
    pub fn load(path: &Path) -> ArrivalMemo {
        if trust::distrust_file(path).is_some() {
            return ArrivalMemo::default();
        }
        match trust::read_regular(path, MEMO_LIMIT).map(String::from_utf8) {
            Ok(Ok(text)) => ArrivalMemo::parse(&text),
            _ => ArrivalMemo::default(),
        }
    }

    // The memo written as `text`; empty when garbled.
    fn parse(text: &str) -> ArrivalMemo {
        let Some(body) = text.strip_prefix(HEADER) else {
            return ArrivalMemo::default();
        };
        let mut by_queue: HashMap<String, Known> = HashMap::new();
        let mut current: Option<&mut Known> = None;
        for line in body.lines() {
            if line.starts_with('/') {
                current = Some(by_queue.entry(line.to_string()).or_default());
                continue;
            }
            let mut fields = line.split(' ');
            let parsed = (|| {
                let hash = u64::from_str_radix(fields.next()?, 16).ok()?;
                let ino = fields.next()?.parse().ok()?;
                let arrival = fields.next()?.parse().ok()?;
                fields.next().is_none().then_some(((ino, hash), arrival))
            })();
            match (parsed, current.as_mut()) {
                (Some((key, arrival)), Some(known)) => {
                    known.insert(key, arrival);
                }
                _ => return ArrivalMemo::default(),
            }
        }
        ArrivalMemo {
            by_queue,
            changed: false,
        }
    }

    /// What is known of the deferred messages in `queue_directory`.
    pub fn known(&self, queue_directory: &str) -> Option<&Known> {
        self.by_queue.get(queue_directory)
    }

    /// Records what a count found in `queue_directory`: its deferred
    /// messages now, replacing what was known.
    pub fn update(&mut self, queue_directory: &str, known: Known) {
        if self.by_queue.get(queue_directory) != Some(&known) {
            self.by_queue.insert(queue_directory.to_string(), known);
            self.changed = true;
        }
    }

    /// Forgets the queue directories for which `keep` says no (instances
    /// that are gone).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        let before = self.by_queue.len();
        self.by_queue.retain(|queue, _| keep(queue));
        self.changed |= self.by_queue.len() != before;
    }

    /// Writes the memo to `path` (atomically, ours, mode 0600) when it
    /// changed since it was loaded, unless its directory fails the rule of
    /// [`crate::trust`] or `path` is a symbolic link or not a regular file.
    /// Best effort: a memo that cannot be written only costs the next run
    /// some reads.
    pub fn save(&self, path: &Path) {
        if !self.changed {
            return;
        }
        let mut text = String::from(HEADER);
        let mut queues: Vec<(&String, &Known)> = self.by_queue.iter().collect();
        queues.sort_by_key(|(queue, _)| *queue);
        for (queue, known) in queues {
            text.push_str(queue);
            text.push('\n');
            for ((ino, hash), arrival) in known {
                text.push_str(&format!("{hash:016x} {ino} {arrival}\n"));
            }
        }
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A memo where others could put theirs would not be loaded, and
        // one written there could be a link they planted: none is written.
        if path.parent().and_then(trust::distrust_dir).is_some()
            || trust::replaceable(path).is_err()
        {
            return;
        }
        // Ours, whoever owned the memo it replaces: one another user owns
        // would be distrusted at every later run, and would let that user
        // read it.
        let meta = crate::fsutil::FileMeta {
            mode: Some(0o600),
            owner: Some((
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            )),
        };
        let _ = crate::fsutil::write_atomic(path, text.as_bytes(), meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/deferred-arrivals");
        let mut memo = ArrivalMemo::load(&path);
        assert_eq!(memo, ArrivalMemo::default());
        let known: Known = [((42, id_hash(b"4AB12C3D")), 1_700_000_000)].into();
        memo.update("/var/spool/postfix-a", known.clone());
        memo.update("/var/spool/postfix-b", Known::new());
        memo.save(&path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mut again = ArrivalMemo::load(&path);
        assert_eq!(again.known("/var/spool/postfix-a"), Some(&known));
        assert_eq!(again.known("/var/spool/postfix-b"), Some(&Known::new()));
        assert!(!again.changed);
        again.update("/var/spool/postfix-a", known);
        assert!(!again.changed, "the same again is no change");
        again.retain(|queue| queue != "/var/spool/postfix-b");
        assert!(again.changed);
        assert_eq!(again.known("/var/spool/postfix-b"), None);
    }

    #[test]
    fn garbled_open_or_linked_memos_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo");
        for text in [
            "no header\n",
            &format!("{HEADER}ab 1 2\n"),
            &format!("{HEADER}/q\nab one 2\n"),
            &format!("{HEADER}/q\nab 1 2 3\n"),
            &format!("{HEADER}/q\nID 1 2\n"),
        ] {
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert_eq!(ArrivalMemo::load(&path), ArrivalMemo::default(), "{text:?}");
        }
        std::fs::write(&path, format!("{HEADER}/q\nab 1 2\n")).unwrap();
        assert_eq!(
            ArrivalMemo::load(&path).known("/q").map(Known::len),
            Some(1)
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(ArrivalMemo::load(&link), ArrivalMemo::default());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(ArrivalMemo::load(&path), ArrivalMemo::default());
    }

    #[test]
    fn no_memo_is_written_where_others_could_have_planted_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let target = dir.path().join("theirs");
        std::fs::write(&target, "theirs\n").unwrap();
        let planted = open.join(MEMO_FILE);
        std::os::unix::fs::symlink(&target, &planted).unwrap();
        let mut memo = ArrivalMemo::default();
        memo.update("/var/spool/postfix", Known::new());
        memo.save(&planted);
        assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
        memo.save(&open.join("other"));
        assert!(!open.join("other").exists());
        // Nor over a link in a trusted directory.
        let link = dir.path().join(MEMO_FILE);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        memo.save(&link);
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"theirs\n");
    }

    #[test]
    fn a_memo_written_is_ours_whoever_owned_the_one_it_replaces() {
        if !crate::test_support::runs_as_root(
            "a_memo_written_is_ours_whoever_owned_the_one_it_replaces",
        ) {
            return;
        }
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MEMO_FILE);
        std::fs::write(&path, "").unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let mut memo = ArrivalMemo::default();
        memo.update("/var/spool/postfix", Known::new());
        memo.save(&path);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (0, nix::unistd::getegid().as_raw())
        );
        assert_eq!(meta.mode() & 0o7777, 0o600);
    }
}
