//! Owners and modes of an instance's private directories, as
//! `postfix set-permissions` gives them, read from `$meta_directory/postfix-files`.
//!
//! This is Postfix's `post-install create-missing set-permissions` for a
//! secondary instance, done natively: only the entries under
//! `$config_directory`, `$queue_directory` and `$data_directory` count, links
//! and obsolete entries are skipped, missing `c` directories are made (one
//! level, like `mkdir`), and then every entry gets `chown [-R]`,
//! `chgrp [-R]` and `chmod` (for a recursive directory, the mode goes to
//! every directory below it and never to files, whose mode bits carry queue
//! file state).

use crate::bytes::{self, BString, ByteSlice};
use crate::error::{AccountKind, EntryProblem, Op};
use crate::expand::{expand, ExpandError};
use crate::{Error, Result};
use nix::fcntl::{AtFlags, AT_FDCWD};
use nix::unistd::{AccessFlags, Gid, Group, Uid, User};
use std::fs::{OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The values that `postfix-files` entries refer to as `$name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermContext {
    /// The instance's `config_directory`.
    pub config_directory: PathBuf,
    /// The instance's `queue_directory`.
    pub queue_directory: PathBuf,
    /// The instance's `data_directory`.
    pub data_directory: PathBuf,
    /// `mail_owner` (a user name).
    pub mail_owner: String,
    /// `setgid_group` (a group name).
    pub setgid_group: String,
}

/// One `d` or `f` entry of `postfix-files` that concerns an instance's own
/// (non-shared) files, with `$name` expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermEntry {
    /// The expanded path.
    pub path: PathBuf,
    /// `true` for a directory (`d`), `false` for a file (`f`).
    pub is_dir: bool,
    /// Owner user name.
    pub owner: String,
    /// Group name, `None` for `-` (left as it is).
    pub group: Option<String>,
    /// Permission bits.
    pub mode: u32,
    /// Flag `c`: create the directory when missing.
    pub create: bool,
    /// Flag `r`: owner and group apply recursively, and the mode to every
    /// directory below.
    pub recursive: bool,
}

/// The parameters whose entries belong to one instance (post-install's
/// `NON_SHARED`).
const NON_SHARED: [&str; 3] = ["config_directory", "queue_directory", "data_directory"];

/// What the built-in entries are called in error messages.
const BUILT_IN_NAME: &str = "built-in postfix-files";

/// The non-shared entries of the `postfix-files` that Postfix 3.7 ships,
/// used when `$meta_directory/postfix-files` does not exist.
const BUILT_IN_POSTFIX_FILES: &str = "\
$config_directory:d:root:-:755:u
$data_directory:d:$mail_owner:-:700:uc
$queue_directory:d:root:-:755:uc
$queue_directory/active:d:$mail_owner:-:700:ucr
$queue_directory/bounce:d:$mail_owner:-:700:ucr
$queue_directory/corrupt:d:$mail_owner:-:700:ucr
$queue_directory/defer:d:$mail_owner:-:700:ucr
$queue_directory/deferred:d:$mail_owner:-:700:ucr
$queue_directory/flush:d:$mail_owner:-:700:ucr
$queue_directory/hold:d:$mail_owner:-:700:ucr
$queue_directory/incoming:d:$mail_owner:-:700:ucr
$queue_directory/private:d:$mail_owner:-:700:uc
$queue_directory/maildrop:d:$mail_owner:$setgid_group:730:uc
$queue_directory/public:d:$mail_owner:$setgid_group:710:uc
$queue_directory/pid:d:root:-:755:uc
$queue_directory/saved:d:$mail_owner:-:700:ucr
$queue_directory/trace:d:$mail_owner:-:700:ucr
$config_directory/main.cf:f:root:-:644:p
$config_directory/master.cf:f:root:-:644:p
$config_directory/postfix-script:f:root:-:755:o
$config_directory/post-install:f:root:-:755:o
";

/// The non-shared entries (those under `$config_directory`,
/// `$queue_directory` and `$data_directory`) of `postfix-files` and of the
/// files in `postfix-files.d`, in file order, skipping obsolete (`o`) entries
/// and links. Falls back to the entries Postfix 3.7 ships when
/// `meta_directory` has no `postfix-files`.
///
/// As post-install does for a secondary instance, entries flagged `1` or
/// `i` are skipped when their file is not readable (checked now), entries
/// whose path expands to `no` are skipped, and `postfix-files.d` is searched
/// recursively for regular files, read in byte order of their paths. A line
/// with an unknown type, a missing owner, a bad mode or an unknown `$name`
/// is an error naming the file and line.
pub fn instance_entries(meta_directory: &Path, ctx: &PermContext) -> Result<Vec<PermEntry>> {
    let mut entries = Vec::new();
    let main = meta_directory.join("postfix-files");
    match read_text(&main) {
        Ok(text) => parse_file(&mut entries, &main.display().to_string(), &text, ctx)?,
        Err(Error::Io { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {
            parse_file(&mut entries, BUILT_IN_NAME, BUILT_IN_POSTFIX_FILES, ctx)?
        }
        Err(error) => return Err(error),
    }
    for file in drop_in_files(&meta_directory.join("postfix-files.d"))? {
        let text = read_text(&file)?;
        parse_file(&mut entries, &file.display().to_string(), &text, ctx)?;
    }
    Ok(entries)
}

/// The text of a `postfix-files` file, read as every configuration file is
/// ([`crate::trust::read_config`]).
fn read_text(path: &Path) -> Result<String> {
    let bytes = crate::trust::read_config(path, crate::trust::CONFIG_LIMIT)?;
    String::from_utf8(bytes).map_err(|_| {
        let error = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        );
        Error::io_op(Op::Read, path, error)
    })
}

/// The non-shared entries for the instance whose main.cf is `config`, with
/// `$queue_directory`, `$mail_owner` and the others resolved as that
/// main.cf (or, where it is silent, the compiled-in defaults) gives them.
pub fn instance_entries_for(config: &crate::config::Config<'_>) -> Result<Vec<PermEntry>> {
    let ctx = PermContext {
        config_directory: bytes::path(config.dir()).into(),
        queue_directory: bytes::path_buf(config.expanded("queue_directory")?),
        data_directory: bytes::path_buf(config.expanded("data_directory")?),
        mail_owner: config.expanded("mail_owner")?.to_string(),
        setgid_group: config.expanded("setgid_group")?.to_string(),
    };
    instance_entries(bytes::path(&config.expanded("meta_directory")?), &ctx)
}

/// Applies `entries` like `post-install create-missing set-permissions`:
/// creates missing `c` directories, then sets owner, group and mode of every
/// entry. Owners are resolved by name through the user and group
/// databases; when not running as root, ownership is left alone.
///
/// All names are resolved before anything is changed; an unknown one is an
/// error naming the entry. An entry that does not exist once the `c`
/// directories are made is an error, as post-install's `chown` makes it; a
/// `c` directory whose parent is missing is one too. The entry's own path is
/// `c` directory whose parent is missing is one too. No symbolic link is
/// ever followed (where `chown` and `chmod` would): an entry that is one is
/// an error before anything changes ([`refuse_symlinks`]), and recursive
/// entries re-own links themselves and never chmod through them. Files
/// that vanish below a recursive entry while it is walked (a running
/// Postfix) are passed over.
pub fn apply(entries: &[PermEntry]) -> Result<()> {
    refuse_symlinks(entries)?;
    let ids = entries
        .iter()
        .map(|entry| Ok((user_id(entry)?, group_id(entry)?)))
        .collect::<Result<Vec<_>>>()?;
    let as_root = nix::unistd::geteuid().is_root();
    for (entry, (uid, gid)) in entries.iter().zip(ids) {
        if entry.is_dir && entry.create && !entry.path.is_dir() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&entry.path)
                .map_err(|e| Error::io_op(Op::MakeDir, &entry.path, e))?;
        }
        if as_root {
            chown_entry(entry, uid, gid)?;
        }
        chmod_entry(entry)?;
    }
    Ok(())
}

/// Refuses entries whose path is a symbolic link (`postfix set-permissions`
/// would chown and chmod its target, any directory on the host), naming
/// the first one.
pub fn refuse_symlinks(entries: &[PermEntry]) -> Result<()> {
    for entry in entries {
        if std::fs::symlink_metadata(&entry.path).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(Error::fatal(format!(
                "{}: is a symbolic link; postmulti does not set owners and modes through one",
                entry.path.display()
            )));
        }
    }
    Ok(())
}

// Parses one postfix-files text, appending its instance entries.
fn parse_file(
    entries: &mut Vec<PermEntry>,
    name: &str,
    text: &str,
    ctx: &PermContext,
) -> Result<()> {
    for (number, line) in text.lines().enumerate() {
        let entry = parse_line(line, ctx).map_err(|problem| Error::PostfixFiles {
            file: name.to_string(),
            line: number + 1,
            problem,
        })?;
        entries.extend(entry);
    }
    Ok(())
}

// One `path:type:owner:group:mode:flags` line as post-install reads it for a
// secondary instance; `None` for lines it passes over.
fn parse_line(
    line: &str,
    ctx: &PermContext,
) -> std::result::Result<Option<PermEntry>, EntryProblem> {
    let mut fields = line.splitn(7, ':').map(str::trim);
    let mut next = || fields.next().unwrap_or("");
    let (path, kind, owner, group, mode, flags) = (next(), next(), next(), next(), next(), next());
    // Comments and other lines not starting with `$`, and shared entries.
    let Some(name) = path.strip_prefix('$') else {
        return Ok(None);
    };
    if !NON_SHARED.iter().any(|shared| name.starts_with(shared)) {
        return Ok(None);
    }
    let is_dir = match kind {
        "h" | "l" => return Ok(None),
        "d" => true,
        "f" => false,
        _ => {
            return Err(EntryProblem::UnknownType {
                kind: kind.to_string(),
                path: path.to_string(),
            })
        }
    };
    let path = field(path, ctx)?;
    let owner = field(owner, ctx)?.to_string();
    let group = field(group, ctx)?.to_string();
    if path == "no" || path.starts_with(b"no/") {
        return Ok(None);
    }
    let optional = flags.contains(['1', 'i']);
    let unreadable = || nix::unistd::access(bytes::path(&path), AccessFlags::R_OK).is_err();
    if flags.contains('o') || (optional && unreadable()) {
        return Ok(None);
    }
    if owner.is_empty() {
        return Err(EntryProblem::NoOwner(path.to_string()));
    }
    let mode = u32::from_str_radix(mode, 8)
        .ok()
        .filter(|mode| *mode <= 0o7777)
        .ok_or_else(|| EntryProblem::BadMode {
            mode: mode.to_string(),
            path: path.to_string(),
        })?;
    Ok(Some(PermEntry {
        path: bytes::path_buf(path),
        is_dir,
        owner,
        group: Some(group).filter(|group| !group.is_empty()),
        mode,
        create: flags.contains('c'),
        recursive: flags.contains('r'),
    }))
}

// A field as post-install canonicalizes it: `$...` expanded, `-` empty.
fn field(value: &str, ctx: &PermContext) -> std::result::Result<BString, EntryProblem> {
    match value {
        "-" => Ok(BString::default()),
        _ if value.starts_with('$') => expand_field(value, ctx),
        _ => Ok(value.into()),
    }
}

// Expands the `$name` and `${name}` references of a field with the
// crate's expander; a name that is not an instance parameter is an error.
fn expand_field(value: &str, ctx: &PermContext) -> std::result::Result<BString, EntryProblem> {
    let unknown = std::cell::RefCell::new(None);
    let lookup = |name: &str| match lookup(name, ctx) {
        // Values are literal: a `$` in a path is no reference.
        Some(found) => Some(BString::from(found.replace("$", "$$"))),
        None => {
            unknown.borrow_mut().get_or_insert_with(|| name.to_string());
            None
        }
    };
    let expanded = expand(value, &lookup).map_err(|error| match error {
        ExpandError::Truncated(_) => EntryProblem::Unterminated(value.to_string()),
        _ => EntryProblem::UnknownParameter(String::new()),
    })?;
    match unknown.into_inner() {
        Some(name) => Err(EntryProblem::UnknownParameter(name)),
        None => Ok(expanded),
    }
}

// The value of parameter `name`, if it is one an instance entry may use.
fn lookup(name: &str, ctx: &PermContext) -> Option<BString> {
    let path = |p: &Path| BString::from(bytes::of_os(p));
    match name {
        "config_directory" => Some(path(&ctx.config_directory)),
        "queue_directory" => Some(path(&ctx.queue_directory)),
        "data_directory" => Some(path(&ctx.data_directory)),
        "mail_owner" => Some(ctx.mail_owner.as_str().into()),
        "setgid_group" => Some(ctx.setgid_group.as_str().into()),
        _ => None,
    }
}

// The regular files below `dir`, in byte order (`find dir -type f | sort`).
fn drop_in_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for item in WalkDir::new(dir)
        .follow_links(false)
        .follow_root_links(false)
    {
        let item = item.map_err(|e| walk_error(dir, e))?;
        if item.file_type().is_file() {
            files.push(item.into_path());
        }
    }
    files.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(files)
}

// The uid of the entry's owner.
fn user_id(entry: &PermEntry) -> Result<Uid> {
    let found = User::from_name(&entry.owner).map(|user| user.map(|user| user.uid.as_raw()));
    account_id(AccountKind::User, &entry.owner, &entry.path, found).map(Uid::from_raw)
}

// The gid of the entry's group, if it has one.
fn group_id(entry: &PermEntry) -> Result<Option<Gid>> {
    let Some(name) = &entry.group else {
        return Ok(None);
    };
    let found = Group::from_name(name).map(|group| group.map(|group| group.gid.as_raw()));
    account_id(AccountKind::Group, name, &entry.path, found).map(|gid| Some(Gid::from_raw(gid)))
}

// The id of a user or group as chown takes it: the id `found` by name, or
// else the name as a number.
fn account_id(
    kind: AccountKind,
    name: &str,
    path: &Path,
    found: nix::Result<Option<u32>>,
) -> Result<u32> {
    let error = |errno| Error::Account {
        kind,
        name: name.to_string(),
        path: path.to_path_buf(),
        errno,
    };
    match found {
        Ok(Some(id)) => Ok(id),
        Ok(None) => name.parse().map_err(|_| error(None)),
        Err(errno) => Err(error(Some(errno))),
    }
}

// chown [-R] owner path; chgrp [-R] group path (when the entry has a group),
// never through a symbolic link.
fn chown_entry(entry: &PermEntry, uid: Uid, gid: Option<Gid>) -> Result<()> {
    if !entry.recursive {
        return nix::unistd::fchownat(
            AT_FDCWD,
            &entry.path,
            Some(uid),
            gid,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|errno| Error::errno(Op::Chown, &entry.path, errno));
    }
    for_each_below(&entry.path, Op::Chown, |path, _| {
        nix::unistd::fchownat(AT_FDCWD, path, Some(uid), gid, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(std::io::Error::from)
    })
}

// chmod mode path, or for a recursive directory every directory below it,
// as GNU chmod applies a numeric mode: a directory keeps its set-user-id and
// set-group-id bits (an imported Debian queue keeps `public` 2710).
fn chmod_entry(entry: &PermEntry) -> Result<()> {
    if !(entry.is_dir && entry.recursive) {
        return chmod_nofollow(&entry.path, entry.is_dir, entry.mode)
            .map_err(|e| Error::io_op(Op::Chmod, &entry.path, e));
    }
    for_each_below(&entry.path, Op::Chmod, |path, file_type| {
        if !file_type.is_dir() {
            return Ok(());
        }
        match chmod_nofollow(path, true, entry.mode) {
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(nix::libc::ELOOP | nix::libc::ENOTDIR)
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    })
}

// chmod through a descriptor that is surely the file itself, never a link
// swapped in since it was looked at; a directory keeps its set-id bits.
fn chmod_nofollow(path: &Path, is_dir: bool, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let directory = if is_dir { nix::libc::O_DIRECTORY } else { 0 };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(directory | nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let kept = if meta.is_dir() {
        meta.mode() & 0o6000
    } else {
        0
    };
    file.set_permissions(Permissions::from_mode(mode | kept))
}

// Calls `action` (operation `op`) on `root` and everything below it, never
// following a symbolic link; files that vanish meanwhile are passed over.
fn for_each_below(
    root: &Path,
    op: Op,
    mut action: impl FnMut(&Path, std::fs::FileType) -> std::io::Result<()>,
) -> Result<()> {
    let walk = WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(false);
    for item in walk {
        let item = match item {
            Ok(item) => item,
            Err(e) if e.depth() > 0 && e.io_error().is_some_and(vanished) => continue,
            Err(e) => return Err(walk_error(root, e)),
        };
        match action(item.path(), item.file_type()) {
            Err(e) if item.depth() > 0 && vanished(&e) => {}
            Err(e) => return Err(Error::io_op(op, item.path(), e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

// Whether an error says the file is gone.
fn vanished(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::NotFound
}

// A walkdir error as the crate's error, naming the path it concerns.
fn walk_error(root: &Path, error: walkdir::Error) -> Error {
    let path = error.path().unwrap_or(root).to_path_buf();
    Error::io(path, error.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    // An instance whose three directories live in `base`.
    fn context(base: &Path) -> PermContext {
        PermContext {
            config_directory: base.join("etc"),
            queue_directory: base.join("queue"),
            data_directory: base.join("data"),
            mail_owner: "postfix".into(),
            setgid_group: "postdrop".into(),
        }
    }

    fn entry(path: &Path, is_dir: bool, owner: &str, group: Option<&str>, mode: u32) -> PermEntry {
        PermEntry {
            path: path.into(),
            is_dir,
            owner: owner.into(),
            group: group.map(String::from),
            mode,
            create: false,
            recursive: false,
        }
    }

    // Whether the host has root, the postfix user and the postdrop group;
    // otherwise says why the test is skipped (and fails under CI=true).
    fn can_set_owners(test: &str) -> bool {
        let ready = nix::unistd::geteuid().is_root()
            && matches!(User::from_name("postfix"), Ok(Some(_)))
            && matches!(Group::from_name("postdrop"), Ok(Some(_)));
        if !ready {
            eprintln!("skipped: {test} needs root, user postfix and group postdrop");
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{test} skipped");
        }
        ready
    }

    // Owner name, group name and mode bits of `path` (not followed).
    fn status(path: &Path) -> (String, String, u32) {
        let meta = std::fs::symlink_metadata(path).unwrap();
        let user = User::from_uid(Uid::from_raw(meta.uid())).unwrap().unwrap();
        let group = Group::from_gid(Gid::from_raw(meta.gid())).unwrap().unwrap();
        (user.name, group.name, meta.mode() & 0o7777)
    }

    fn built_in(ctx: &PermContext) -> Vec<PermEntry> {
        let empty = tempfile::tempdir().unwrap();
        instance_entries(empty.path(), ctx).unwrap()
    }

    #[test]
    fn built_in_entries_are_the_instance_entries_of_postfix_3_7() {
        let ctx = context(Path::new("/x"));
        let entries = built_in(&ctx);
        let summary: Vec<String> = entries
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}:{} {:o} {}{}",
                    e.path.display(),
                    if e.is_dir { 'd' } else { 'f' },
                    e.owner,
                    e.group.as_deref().unwrap_or("-"),
                    e.mode,
                    if e.create { "c" } else { "" },
                    if e.recursive { "r" } else { "" },
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "/x/etc d root:- 755 ",
                "/x/data d postfix:- 700 c",
                "/x/queue d root:- 755 c",
                "/x/queue/active d postfix:- 700 cr",
                "/x/queue/bounce d postfix:- 700 cr",
                "/x/queue/corrupt d postfix:- 700 cr",
                "/x/queue/defer d postfix:- 700 cr",
                "/x/queue/deferred d postfix:- 700 cr",
                "/x/queue/flush d postfix:- 700 cr",
                "/x/queue/hold d postfix:- 700 cr",
                "/x/queue/incoming d postfix:- 700 cr",
                "/x/queue/private d postfix:- 700 c",
                "/x/queue/maildrop d postfix:postdrop 730 c",
                "/x/queue/public d postfix:postdrop 710 c",
                "/x/queue/pid d root:- 755 c",
                "/x/queue/saved d postfix:- 700 cr",
                "/x/queue/trace d postfix:- 700 cr",
                "/x/etc/main.cf f root:- 644 ",
                "/x/etc/master.cf f root:- 644 ",
            ]
        );
    }

    #[test]
    fn installed_postfix_files_gives_the_built_in_entries() {
        let meta = Path::new("/etc/postfix");
        if !meta.join("postfix-files").is_file() {
            eprintln!("skipped: no /etc/postfix/postfix-files");
            return;
        }
        let ctx = context(Path::new("/nonexistent/instance"));
        assert_eq!(instance_entries(meta, &ctx).unwrap(), built_in(&ctx));
    }

    #[test]
    fn parsing_follows_post_install() {
        let meta = tempfile::tempdir().unwrap();
        let base = tempfile::tempdir().unwrap();
        let mut ctx = context(base.path());
        std::fs::create_dir(&ctx.config_directory).unwrap();
        std::fs::write(ctx.config_directory.join("present"), b"").unwrap();
        std::fs::write(
            meta.path().join("postfix-files"),
            "# comment\n\
             \n\
             not a $ line\n\
             $daemon_directory/qmgr:f:root:-:755\n\
             $config_directory/link:l:$config_directory/main.cf\n\
             $queue_directory/hard:h:$queue_directory/x\n\
             $config_directory/old:f:root:-:644:o\n\
             $config_directory/absent:f:root:-:644:p1\n\
             $config_directory/present:f:root:-:644:p1\n\
             $queue_directory/${setgid_group}:d:$mail_owner:$setgid_group:2755:uc:extra:fields\n\
             $data_directory:d:$mail_owner:-:700:uc\n\
             $queue_directory/x:d:root:-:755\n\
             $queue_directory/y:d:root:wheel:0750:r:\n",
        )
        .unwrap();
        ctx.data_directory = "no".into();
        let entries = instance_entries(meta.path(), &ctx).unwrap();
        let queue = &ctx.queue_directory;
        assert_eq!(
            entries,
            [
                entry(
                    &ctx.config_directory.join("present"),
                    false,
                    "root",
                    None,
                    0o644
                ),
                PermEntry {
                    create: true,
                    ..entry(
                        &queue.join("postdrop"),
                        true,
                        "postfix",
                        Some("postdrop"),
                        0o2755
                    )
                },
                entry(&queue.join("x"), true, "root", None, 0o755),
                PermEntry {
                    recursive: true,
                    ..entry(&queue.join("y"), true, "root", Some("wheel"), 0o750)
                },
            ]
        );
    }

    #[test]
    fn drop_in_files_follow_in_sorted_order() {
        let meta = tempfile::tempdir().unwrap();
        let ctx = context(Path::new("/x"));
        let d = meta.path().join("postfix-files.d");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(
            meta.path().join("postfix-files"),
            "$queue_directory/a:d:root:-:755\n",
        )
        .unwrap();
        std::fs::write(d.join("b"), "$queue_directory/c:d:root:-:755\n").unwrap();
        std::fs::write(d.join("a"), "$queue_directory/b:d:root:-:755\n").unwrap();
        std::fs::write(d.join("sub/z"), "$queue_directory/d:d:root:-:755\n").unwrap();
        std::os::unix::fs::symlink(d.join("a"), d.join("0-link")).unwrap();
        let paths: Vec<PathBuf> = instance_entries(meta.path(), &ctx)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            ["/x/queue/a", "/x/queue/b", "/x/queue/c", "/x/queue/d"].map(PathBuf::from)
        );
    }

    #[test]
    fn drop_in_files_also_follow_the_built_in_entries() {
        let meta = tempfile::tempdir().unwrap();
        let ctx = context(Path::new("/x"));
        std::fs::create_dir(meta.path().join("postfix-files.d")).unwrap();
        std::fs::write(
            meta.path().join("postfix-files.d/extra"),
            "$data_directory/extra:d:$mail_owner:-:700:c\n",
        )
        .unwrap();
        let entries = instance_entries(meta.path(), &ctx).unwrap();
        assert_eq!(entries.len(), built_in(&ctx).len() + 1);
        assert_eq!(entries.last().unwrap().path, Path::new("/x/data/extra"));
    }

    #[test]
    fn bad_lines_are_errors_naming_file_and_line() {
        let meta = tempfile::tempdir().unwrap();
        let file = meta.path().join("postfix-files");
        let ctx = context(Path::new("/x"));
        for (line, message) in [
            (
                "$queue_directory/a:x:root:-:755",
                "unknown type 'x' for $queue_directory/a",
            ),
            (
                "$queue_directory/a:d:root:-:75x",
                "bad mode '75x' for /x/queue/a",
            ),
            (
                "$queue_directory/a:d:root:-:17777",
                "bad mode '17777' for /x/queue/a",
            ),
            ("$queue_directory/a:d:root:-:", "bad mode '' for /x/queue/a"),
            ("$queue_directory/a:d:-:-:755", "no owner for /x/queue/a"),
            (
                "$queue_directory/a:d:$nobody:-:755",
                "unknown parameter $nobody",
            ),
            (
                "$queue_directory/${mail_owner:d:root",
                "unterminated '${' in $queue_directory/${mail_owner",
            ),
        ] {
            std::fs::write(&file, format!("# first\n{line}\n")).unwrap();
            let err = instance_entries(meta.path(), &ctx).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{}: line 2: {message}", file.display())
            );
        }
    }

    #[test]
    fn unreadable_postfix_files_is_an_error() {
        let meta = tempfile::tempdir().unwrap();
        std::fs::create_dir(meta.path().join("postfix-files")).unwrap();
        let err = instance_entries(meta.path(), &context(Path::new("/x"))).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }

    #[test]
    fn unknown_names_are_errors_before_any_change() {
        let base = tempfile::tempdir().unwrap();
        let made = PermEntry {
            create: true,
            ..entry(&base.path().join("made"), true, "root", None, 0o755)
        };
        let bad_user = entry(base.path(), true, "no-such-user-pm", None, 0o755);
        let err = apply(&[made.clone(), bad_user]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "unknown user 'no-such-user-pm' for {}",
                base.path().display()
            )
        );
        let bad_group = entry(base.path(), true, "root", Some("no-such-group-pm"), 0o755);
        let err = apply(&[made.clone(), bad_group]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "unknown group 'no-such-group-pm' for {}",
                base.path().display()
            )
        );
        assert!(!made.path.exists());
    }

    #[test]
    fn missing_entries_are_errors() {
        let base = tempfile::tempdir().unwrap();
        let file = base.path().join("master.cf");
        let err = apply(&[entry(&file, false, "0", None, 0o644)]).unwrap_err();
        assert!(matches!(err, Error::Io { ref path, .. } if *path == file));
        // A `c` directory is made one level deep only.
        let deep = base.path().join("missing/queue");
        let create = PermEntry {
            create: true,
            ..entry(&deep, true, "0", None, 0o755)
        };
        let err = apply(&[create]).unwrap_err();
        assert!(matches!(err, Error::Io { ref path, .. } if *path == deep));
    }

    #[test]
    fn numeric_owner_and_mode_without_root() {
        // Works for any user: the owner is our own uid, given as a number.
        let base = tempfile::tempdir().unwrap();
        let me = nix::unistd::geteuid().to_string();
        let dir = base.path().join("made");
        let create = PermEntry {
            create: true,
            ..entry(&dir, true, &me, None, 0o710)
        };
        apply(&[create]).unwrap();
        let meta = std::fs::metadata(&dir).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o7777, 0o710);
        assert_eq!(meta.uid().to_string(), me);
    }

    #[test]
    fn set_permissions_gives_postfix_layout() {
        if !can_set_owners("set_permissions_gives_postfix_layout") {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let ctx = context(base.path());
        std::fs::create_dir(&ctx.config_directory).unwrap();
        for file in ["main.cf", "master.cf"] {
            let path = ctx.config_directory.join(file);
            std::fs::write(&path, b"").unwrap();
            std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        }
        let entries = built_in(&ctx);
        apply(&entries).unwrap();
        let root = |mode| ("root".to_string(), "root".to_string(), mode);
        let postfix = |group: &str, mode| ("postfix".to_string(), group.to_string(), mode);
        assert_eq!(status(&ctx.config_directory), root(0o755));
        assert_eq!(status(&ctx.config_directory.join("main.cf")), root(0o644));
        assert_eq!(status(&ctx.config_directory.join("master.cf")), root(0o644));
        assert_eq!(status(&ctx.data_directory), postfix("root", 0o700));
        assert_eq!(status(&ctx.queue_directory), root(0o755));
        for dir in [
            "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
            "private", "saved", "trace",
        ] {
            assert_eq!(
                status(&ctx.queue_directory.join(dir)),
                postfix("root", 0o700),
                "{dir}"
            );
        }
        assert_eq!(
            status(&ctx.queue_directory.join("maildrop")),
            postfix("postdrop", 0o730)
        );
        assert_eq!(
            status(&ctx.queue_directory.join("public")),
            postfix("postdrop", 0o710)
        );
        assert_eq!(status(&ctx.queue_directory.join("pid")), root(0o755));
        // Idempotent.
        apply(&entries).unwrap();
        assert_eq!(
            status(&ctx.queue_directory.join("public")),
            postfix("postdrop", 0o710)
        );
    }

    #[test]
    fn recursive_entries_reach_below_without_following_links() {
        if !can_set_owners("recursive_entries_reach_below_without_following_links") {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let defer = base.path().join("defer");
        let sub = defer.join("A");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::set_permissions(&sub, Permissions::from_mode(0o755)).unwrap();
        let file = sub.join("4F2A1B");
        std::fs::write(&file, b"queue file").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o744)).unwrap();
        let outside = base.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::set_permissions(&outside, Permissions::from_mode(0o755)).unwrap();
        let link = defer.join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let recursive = PermEntry {
            create: true,
            recursive: true,
            ..entry(&defer, true, "postfix", Some("postdrop"), 0o700)
        };
        apply(&[recursive]).unwrap();
        let postfix = |mode| ("postfix".to_string(), "postdrop".to_string(), mode);
        assert_eq!(status(&defer), postfix(0o700));
        assert_eq!(status(&sub), postfix(0o700));
        assert_eq!(status(&file), postfix(0o744), "file mode is queue state");
        assert_eq!(status(&link).0, "postfix", "the link itself is re-owned");
        assert_eq!(status(&outside), ("root".into(), "root".into(), 0o755));
    }

    #[test]
    fn an_entry_that_is_a_link_is_refused_before_anything_changes() {
        if !can_set_owners("an_entry_that_is_a_link_is_refused_before_anything_changes") {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let target = base.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o755)).unwrap();
        std::fs::write(target.join("f"), b"").unwrap();
        let first = base.path().join("first");
        std::fs::create_dir(&first).unwrap();
        std::fs::set_permissions(&first, Permissions::from_mode(0o755)).unwrap();
        for recursive in [true, false] {
            let link = base.path().join(format!("hold-{recursive}"));
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let entries = [
                entry(&first, true, "postfix", None, 0o700),
                PermEntry {
                    recursive,
                    ..entry(&link, true, "postfix", None, 0o700)
                },
            ];
            let error = apply(&entries).unwrap_err().to_string();
            assert_eq!(
                error,
                format!(
                    "{}: is a symbolic link; postmulti does not set owners and modes through one",
                    link.display()
                )
            );
            assert_eq!(status(&link).0, "root");
            assert_eq!(status(&first), ("root".into(), "root".into(), 0o755));
            assert_eq!(status(&target), ("root".into(), "root".into(), 0o755));
            assert_eq!(status(&target.join("f")).0, "root");
        }
    }

    #[test]
    fn directories_keep_their_set_id_bits_as_with_gnu_chmod() {
        if !can_set_owners("directories_keep_their_set_id_bits_as_with_gnu_chmod") {
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let public = base.path().join("public");
        let deferred = base.path().join("deferred");
        let below = deferred.join("A");
        let file = base.path().join("main.cf");
        std::fs::create_dir_all(&below).unwrap();
        std::fs::create_dir(&public).unwrap();
        std::fs::write(&file, b"").unwrap();
        for path in [&public, &below] {
            std::fs::set_permissions(path, Permissions::from_mode(0o2755)).unwrap();
        }
        std::fs::set_permissions(&deferred, Permissions::from_mode(0o4777)).unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o2755)).unwrap();
        apply(&[
            entry(&public, true, "root", None, 0o710),
            PermEntry {
                recursive: true,
                ..entry(&deferred, true, "root", None, 0o700)
            },
            entry(&file, false, "root", None, 0o644),
        ])
        .unwrap();
        assert_eq!(status(&public).2, 0o2710);
        assert_eq!(status(&deferred).2, 0o4700);
        assert_eq!(status(&below).2, 0o2700);
        // A file gets the mode as it is.
        assert_eq!(status(&file).2, 0o644);
    }
}
