//! The install parameters `postfix set-permissions` writes into an
//! instance's main.cf: post-install compares each, as postfix(1) hands it
//! (expanded, a trailing `$mail_version` put back), with the value main.cf
//! gives (`postconf -h`, unexpanded), and when any differs it writes them
//! all with `postconf -e`.

use crate::bytes::BString;
use crate::config::Config;
use crate::Result;

/// post-install's `MOST_PARAMETERS` as it writes them, in its order.
const INSTALL_PARAMETERS: [&str; 15] = [
    "daemon_directory",
    "command_directory",
    "queue_directory",
    "data_directory",
    "mail_owner",
    "setgid_group",
    "sendmail_path",
    "mailq_path",
    "newaliases_path",
    "html_directory",
    "manpage_directory",
    "sample_directory",
    "readme_directory",
    "shlib_directory",
    "meta_directory",
];

/// The settings post-install writes into `config`'s main.cf, or `None`
/// when each install parameter is already written as postfix(1) hands it.
pub fn overrides(config: &Config<'_>) -> Result<Option<Vec<(&'static str, BString)>>> {
    let version = config.expanded("mail_version")?;
    let mut differs = false;
    let mut settings = Vec::with_capacity(INSTALL_PARAMETERS.len());
    for name in INSTALL_PARAMETERS {
        let mut value = config.expanded(name)?;
        if !version.is_empty() && value.ends_with(&version) {
            let kept = value.len() - version.len();
            value.truncate(kept);
            value.extend_from_slice(b"${mail_version}");
        }
        differs |= config.raw(name).unwrap_or_default() != value.as_slice();
        settings.push((name, value));
    }
    Ok(differs.then_some(settings))
}
