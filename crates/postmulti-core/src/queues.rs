//! How many messages each queue of an instance holds, counted natively by
//! walking its queue directories, as Postfix's `showq` (behind `postqueue`)
//! finds them, without `postqueue` or a running master.
//!
//! A queue is the directory of its name under `queue_directory`
//! (`incoming`, `active`, `deferred`, `hold`, `maildrop`, `corrupt`), with
//! the hashed subdirectories of `hash_queue_names`: as Postfix's queue
//! scanner does, an entry with a one-character name is a subdirectory to
//! descend into, any other entry a candidate queue file. A candidate counts
//! as a message when, as `showq`'s `mail_open_ok` checks it, its name is a
//! valid queue id (letters, digits and `_`, at most 255 characters), it is
//! a regular file (a symbolic link is never followed nor counted), and its
//! owner permission bits are `rwx` (a file still being written is `rw-`;
//! see below for where this is looked at).
//!
//! Nothing below `queue_directory` is trusted: every directory is opened
//! relative to its parent with `O_NOFOLLOW`, and a queue file is examined
//! with `fstatat(AT_SYMLINK_NOFOLLOW)` or opened with `O_NOFOLLOW` and
//! checked to be a regular file before it is read. The age of the oldest
//! deferred message comes from each deferred file's arrival time record
//! (`T`), which is where `postqueue -j` takes its `arrival_time` from (a
//! deferred file without one is counted, but gives no age); with
//! [`count_knowing`], only the deferred files not already known
//! ([`crate::arrivals`]) are opened.
//!
//! Queue files are created and written in `incoming` and `maildrop` only;
//! the other queues receive them by rename, ready. So the permission bits
//! are looked at (one `fstatat` per file) in those two queues, and
//! elsewhere the directory entry's type is enough: counting a queue costs
//! reading its directories.

use crate::arrivals::{id_hash, Known};
use crate::{Error, Result};
use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use std::ffi::CStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// The queues of an instance, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `incoming`: messages received, not yet seen by the queue manager.
    Incoming,
    /// `active`: messages the queue manager is delivering.
    Active,
    /// `deferred`: messages waiting for another delivery attempt.
    Deferred,
    /// `hold`: messages put on hold (`postsuper -h`).
    Hold,
    /// `maildrop`: locally submitted messages not yet picked up.
    Maildrop,
    /// `corrupt`: damaged queue files set aside.
    Corrupt,
}

impl Queue {
    /// Whether queue files are created and written in this queue (and so
    /// may be seen before they are ready), rather than renamed into it.
    pub fn written_in_place(self) -> bool {
        matches!(self, Queue::Incoming | Queue::Maildrop)
    }

    /// Every queue, in reporting order.
    pub const ALL: [Queue; 6] = [
        Queue::Incoming,
        Queue::Active,
        Queue::Deferred,
        Queue::Hold,
        Queue::Maildrop,
        Queue::Corrupt,
    ];

    /// The queue's directory name, as Postfix and `postqueue -j` name it.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Incoming => "incoming",
            Queue::Active => "active",
            Queue::Deferred => "deferred",
            Queue::Hold => "hold",
            Queue::Maildrop => "maildrop",
            Queue::Corrupt => "corrupt",
        }
    }
}

/// The messages of one instance, queue by queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueCounts {
    /// Messages per queue, in [`Queue::ALL`] order.
    messages: [u64; 6],
    /// The earliest arrival time (seconds since the epoch) of a deferred
    /// message; `None` when no deferred message has a readable one.
    pub oldest_deferred_arrival: Option<i64>,
}

impl QueueCounts {
    /// The number of messages in `queue`.
    pub fn messages(&self, queue: Queue) -> u64 {
        self.messages[queue as usize]
    }

    /// The age in seconds at `now` (seconds since the epoch) of the oldest
    /// deferred message (0 for one that arrived in the future).
    pub fn oldest_deferred_age(&self, now: i64) -> Option<u64> {
        self.oldest_deferred_arrival
            .map(|arrival| u64::try_from(now.saturating_sub(arrival)).unwrap_or(0))
    }
}

/// The longest valid queue id (Postfix's `VALID_HOSTNAME_LEN`).
const MAX_QUEUE_ID: usize = 255;

/// How much of a deferred file is read to find its arrival time: the
/// size and time records come first, well within this.
const HEAD_BYTES: usize = 512;

/// Postfix's record type of the arrival time (`REC_TYPE_TIME`).
const REC_TYPE_TIME: u8 = b'T';

/// Postfix's record type that starts the message content (`REC_TYPE_MESG`).
const REC_TYPE_MESG: u8 = b'M';

/// Counts the messages in every queue under `queue_directory`. A queue
/// directory that does not exist holds no message (Postfix creates them at
/// its first start); any other failure to read one is an error naming it.
pub fn count(queue_directory: &Path) -> Result<QueueCounts> {
    count_knowing(queue_directory, &Known::new()).map(|(counts, _)| counts)
}

/// [`count`], taking the arrival times of the deferred messages in `known`
/// (by queue id and inode) instead of reading their files; also returns
/// the deferred messages found, with their arrival times, for next time.
pub fn count_knowing(queue_directory: &Path, known: &Known) -> Result<(QueueCounts, Known)> {
    let top = open_dir(AT_FDCWD, queue_directory, OFlag::empty())
        .map_err(|errno| Error::io(queue_directory, errno.into()))?;
    let mut counts = QueueCounts::default();
    let mut found = Known::new();
    for queue in Queue::ALL {
        let path = queue_directory.join(queue.name());
        let dir = match open_dir(top.as_fd(), Path::new(queue.name()), OFlag::O_NOFOLLOW) {
            Ok(dir) => dir,
            Err(Errno::ENOENT) => continue,
            Err(errno) => return Err(Error::io(&path, errno.into())),
        };
        let mut walk = Walk {
            queue,
            messages: 0,
            oldest: None,
            known,
            found: Known::new(),
        };
        walk.directory(dir, &path)?;
        counts.messages[queue as usize] = walk.messages;
        if queue == Queue::Deferred {
            counts.oldest_deferred_arrival = walk.oldest;
            found = walk.found;
        }
    }
    Ok((counts, found))
}

// Opens directory `name` relative to `parent` for reading, with extra flags.
fn open_dir<Fd: AsFd>(parent: Fd, name: &Path, flags: OFlag) -> std::result::Result<Dir, Errno> {
    let fd = openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | flags,
        Mode::empty(),
    )?;
    Dir::from_fd(fd)
}

/// The walk of one queue.
struct Walk<'k> {
    queue: Queue,
    messages: u64,
    oldest: Option<i64>,
    /// Deferred messages whose arrival time is known.
    known: &'k Known,
    /// The deferred messages found, with their arrival times.
    found: Known,
}

impl Walk<'_> {
    // Counts the queue files in `dir` (at `path`) and its hashed
    // subdirectories.
    fn directory(&mut self, mut dir: Dir, path: &Path) -> Result<()> {
        // A second descriptor of the directory, for lookups while iterating.
        let lookup = dir
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::io(path, e))?;
        let mut subdirectories: Vec<String> = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|errno| Error::io(path, errno.into()))?;
            let name = entry.file_name();
            let bytes = name.to_bytes();
            if bytes.len() == 1 {
                if bytes != b"." && entry.file_type() != Some(Type::File) {
                    subdirectories.push(String::from_utf8_lossy(bytes).into_owned());
                }
                continue;
            }
            if !is_queue_id(bytes) {
                continue;
            }
            self.file(&lookup, name, entry.ino(), entry.file_type());
        }
        for name in subdirectories {
            let sub_path = path.join(&name);
            match open_dir(lookup.as_fd(), Path::new(&name), OFlag::O_NOFOLLOW) {
                Ok(sub) => self.directory(sub, &sub_path)?,
                // Gone meanwhile, or not a directory: nothing to count.
                Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => {}
                Err(errno) => return Err(Error::io(&sub_path, errno.into())),
            }
        }
        Ok(())
    }

    // Counts candidate `name` in `dir` when it is a ready queue file; for a
    // deferred one, notes its arrival time.
    fn file(&mut self, dir: &OwnedFd, name: &CStr, ino: u64, file_type: Option<Type>) {
        let stat = || fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW);
        match file_type {
            Some(Type::File) => {}
            // The file system did not say: look before opening anything.
            None if stat().is_ok_and(|stat| is_ready(&stat)) => {}
            _ => return,
        }
        if self.queue == Queue::Deferred {
            let key = (ino, id_hash(name.to_bytes()));
            let arrival = match self.known.get(&key) {
                Some(&arrival) => Some(arrival),
                // New here: read it (not counted when it is not a ready
                // queue file after all).
                _ => match self.deferred_file(dir, name) {
                    Some(arrival) => arrival,
                    None => return,
                },
            };
            self.messages += 1;
            if let Some(arrival) = arrival {
                self.oldest = Some(self.oldest.map_or(arrival, |old| old.min(arrival)));
                self.found.insert(key, arrival);
            }
            return;
        }
        // Files are written in place only in incoming and maildrop: there
        // a file still being written is not yet a message. Elsewhere they
        // arrive by rename, ready.
        if !self.queue.written_in_place() || stat().is_ok_and(|stat| is_ready(&stat)) {
            self.messages += 1;
        }
    }

    // A ready deferred file's arrival time (`Some(None)` when it has no
    // readable one); `None` when it is not a ready queue file.
    fn deferred_file(&self, dir: &OwnedFd, name: &CStr) -> Option<Option<i64>> {
        let fd = openat(
            dir.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let stat = fstat(fd.as_fd()).ok()?;
        if !is_ready(&stat) {
            return None;
        }
        let mut head = [0u8; HEAD_BYTES];
        let mut file = File::from(fd);
        let mut filled = 0;
        while filled < head.len() {
            match file.read(&mut head[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        Some(arrival_time(&head[..filled]))
    }
}

/// Whether `name` is a valid queue id (Postfix's `mail_queue_id_ok`).
fn is_queue_id(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= MAX_QUEUE_ID
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether a file is a queue file ready for delivery: a regular file with
/// owner bits `rwx` (Postfix's `MAIL_QUEUE_STAT_READY`).
fn is_ready(stat: &FileStat) -> bool {
    let kind = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
    kind == SFlag::S_IFREG && stat.st_mode & 0o700 == 0o700
}

/// The arrival time in the first `T` record of a queue file's `head`: each
/// record is a type byte, a length (7 bits per byte, low bits first, the
/// high bit set on every byte but the last) and that many bytes of data;
/// the time is its leading decimal seconds. `None` when the records before
/// the message content have none, or `head` ends first.
pub fn arrival_time(head: &[u8]) -> Option<i64> {
    let mut at = 0;
    while at < head.len() {
        let kind = head[at];
        at += 1;
        let mut length: usize = 0;
        let mut shift = 0;
        loop {
            let byte = *head.get(at)?;
            at += 1;
            length |= usize::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 {
                return None;
            }
        }
        let data = head.get(at..at.checked_add(length)?)?;
        at += length;
        match kind {
            REC_TYPE_TIME => {
                let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
                return std::str::from_utf8(&data[..digits]).ok()?.parse().ok();
            }
            REC_TYPE_MESG => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    // A queue file's head: a size record, then a time record.
    fn head(seconds: &str) -> Vec<u8> {
        let size = b"             123             456               1               1";
        let mut out = vec![b'C', u8::try_from(size.len()).unwrap()];
        out.extend_from_slice(size);
        let time = format!("{seconds} 123456");
        out.push(b'T');
        out.push(u8::try_from(time.len()).unwrap());
        out.extend_from_slice(time.as_bytes());
        out.extend_from_slice(b"M\x00");
        out
    }

    // Writes a queue file at `path` with `mode` and `contents`.
    fn queue_file(path: &Path, mode: u32, contents: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn arrival_time_records() {
        assert_eq!(arrival_time(&head("1700000000")), Some(1_700_000_000));
        // Long lengths use several bytes.
        let mut long = vec![b'X', 0x80 | 0x2c, 0x01];
        long.extend_from_slice(&[b'x'; 172]);
        long.extend_from_slice(b"T\x0a1600000000");
        assert_eq!(arrival_time(&long), Some(1_600_000_000));
        assert_eq!(arrival_time(b"M\x00T\x0a1600000000"), None);
        assert_eq!(arrival_time(b"C\x05abc"), None);
        assert_eq!(arrival_time(b""), None);
    }

    #[test]
    fn counts_ready_queue_files_in_hashed_directories_only() {
        let queue = tempfile::tempdir().unwrap();
        let q = queue.path();
        queue_file(&q.join("deferred/A/A1B2C3D4E5"), 0o700, &head("1700000100"));
        queue_file(&q.join("deferred/B/B1B2C3D4E5"), 0o700, &head("1700000000"));
        queue_file(&q.join("deferred/C/C1B2C3D4E5"), 0o700, b"garbage");
        // Being written, a temp name, a hidden name: not messages.
        queue_file(&q.join("incoming/D1B2C3D4E5"), 0o600, b"");
        queue_file(&q.join("incoming/123456.789"), 0o700, b"");
        queue_file(&q.join("incoming/E1B2C3D4E5"), 0o700, b"");
        queue_file(&q.join("hold/4Xyz_long1"), 0o700, b"");
        queue_file(&q.join("maildrop/F1B2C3D4E5"), 0o744, b"");
        std::fs::create_dir_all(q.join("active")).unwrap();
        // A symbolic link is neither followed nor counted, as a file or a
        // hashed directory.
        let outside = tempfile::tempdir().unwrap();
        queue_file(&outside.path().join("A9B2C3D4E5"), 0o700, &head("1"));
        symlink(
            outside.path().join("A9B2C3D4E5"),
            q.join("active/A9B2C3D4E5"),
        )
        .unwrap();
        symlink(outside.path(), q.join("deferred/F")).unwrap();
        // A fifo is not a queue file (and is not opened).
        nix::unistd::mkfifo(&q.join("deferred/A/A7B2C3D4E5"), Mode::S_IRWXU).unwrap();

        let counts = count(q).unwrap();
        let by_name: Vec<(&str, u64)> = Queue::ALL
            .iter()
            .map(|&queue| (queue.name(), counts.messages(queue)))
            .collect();
        assert_eq!(
            by_name,
            [
                ("incoming", 1),
                ("active", 0),
                ("deferred", 3),
                ("hold", 1),
                ("maildrop", 1),
                ("corrupt", 0),
            ]
        );
        assert_eq!(counts.oldest_deferred_arrival, Some(1_700_000_000));
        assert_eq!(counts.oldest_deferred_age(1_700_000_060), Some(60));
        assert_eq!(counts.oldest_deferred_age(1), Some(0));
    }

    #[test]
    fn known_arrivals_spare_reading_files_of_the_same_inode() {
        use std::os::unix::fs::MetadataExt;
        let queue = tempfile::tempdir().unwrap();
        let file = queue.path().join("deferred/A/A1B2C3D4E5");
        queue_file(&file, 0o700, &head("1700000100"));
        let ino = std::fs::metadata(&file).unwrap().ino();
        let (counts, found) = count_knowing(queue.path(), &Known::new()).unwrap();
        assert_eq!(counts.oldest_deferred_arrival, Some(1_700_000_100));
        let key = (ino, id_hash(b"A1B2C3D4E5"));
        assert_eq!(found, [(key, 1_700_000_100)].into());
        // Known with this inode: the memo answers (and gone ids drop out).
        let known: Known = [(key, 5), ((1, id_hash(b"GONE000000")), 1)].into();
        let (counts, found) = count_knowing(queue.path(), &known).unwrap();
        assert_eq!(counts.oldest_deferred_arrival, Some(5));
        assert_eq!(counts.messages(Queue::Deferred), 1);
        assert_eq!(found, [(key, 5)].into());
        // Another inode under the same id: read again.
        let known: Known = [((ino + 1, key.1), 5)].into();
        let (counts, _) = count_knowing(queue.path(), &known).unwrap();
        assert_eq!(counts.oldest_deferred_arrival, Some(1_700_000_100));
    }

    #[test]
    fn missing_queues_are_empty_and_a_missing_queue_directory_is_an_error() {
        let queue = tempfile::tempdir().unwrap();
        assert_eq!(count(queue.path()).unwrap(), QueueCounts::default());
        let missing = queue.path().join("missing");
        let error = count(&missing).unwrap_err().to_string();
        assert_eq!(
            error,
            format!("{}: No such file or directory", missing.display())
        );
        // A queue that is a symbolic link is an error, not followed.
        symlink(queue.path(), queue.path().join("hold")).unwrap();
        let error = count(queue.path()).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{}/hold: ", queue.path().display())),
            "{error}"
        );
    }
}
