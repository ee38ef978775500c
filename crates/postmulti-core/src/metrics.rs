//! How each instance of a host is doing, in one pass: enabled, master
//! running, messages per queue ([`crate::queues`]), and the broken
//! secondaries; and that state as Prometheus metrics in the classic text
//! exposition format (version 0.0.4), which node_exporter's textfile
//! collector reads.
//!
//! The exposition is encoded by the `prometheus-client` crate's
//! `prometheus_text` encoder (HELP and label escaping, no OpenMetrics
//! `# EOF` trailer). Its families are written here in a fixed order, and
//! each family's samples in listing order, so that two scrapes of the same
//! state are the same bytes.
//!
//! Labels: `instance` is the instance's `multi_instance_name`, or its
//! `config_directory` when it has none (the primary usually, as
//! `/etc/postfix`); names and directories are claimed once per host, so the
//! label is unique. `group` is `multi_instance_group`, empty when none.
//! `queue` is the queue's name.

use crate::arrivals::{ArrivalMemo, Known, MEMO_FILE};
use crate::bytes::ByteSlice;
use crate::instance::{BrokenInstance, Instance};
use crate::parallel;
use crate::queues::{self, Queue, QueueCounts};
use crate::registry::Registry;
use crate::select::Selection;
use crate::status::master_pid;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;

/// One selected, usable instance at the time of a scrape.
#[derive(Debug, Clone)]
pub struct InstanceState {
    /// The instance.
    pub instance: Instance,
    /// Its running master daemon's pid, if any.
    pub master_pid: Option<i32>,
    /// Its messages per queue, or why they could not be counted.
    pub queues: Result<QueueCounts, String>,
}

/// What one scrape found for the selected instances.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The selected usable instances, in listing order.
    pub instances: Vec<InstanceState>,
    /// The selected secondaries whose main.cf could not be used.
    pub broken: Vec<BrokenInstance>,
}

/// The `instance` label of an instance: its name, or its config directory
/// when it has none.
pub fn instance_label<'a>(name: Option<&'a str>, config_directory: &'a str) -> &'a str {
    name.unwrap_or(config_directory)
}

impl InstanceState {
    /// The state of `instance` now: master status and queue counts.
    pub fn of(instance: &Instance) -> InstanceState {
        InstanceState::knowing(instance, &Known::new()).0
    }

    /// [`InstanceState::of`], with the arrival times of the deferred
    /// messages in `known`; also returns those found, when counted.
    fn knowing(instance: &Instance, known: &Known) -> (InstanceState, Option<Known>) {
        let queue_directory = instance.queue_path();
        let (queues, found) = match queues::count_knowing(queue_directory, known) {
            Ok((counts, found)) => (Ok(counts), Some(found)),
            Err(e) => (Err(e.to_string()), None),
        };
        let state = InstanceState {
            instance: instance.clone(),
            master_pid: master_pid(queue_directory),
            queues,
        };
        (state, found)
    }
}

impl Scrape {
    /// Examines the instances of `registry` that `selection` picks (none
    /// given means all), and collects the broken secondaries it reaches.
    /// The arrival times of deferred messages are remembered in
    /// [`MEMO_FILE`] between runs.
    pub fn take<K>(registry: &Registry<'_, K>, selection: &Selection) -> Scrape {
        let selection = selection.effective();
        let instances: Vec<&Instance> = registry
            .instances
            .iter()
            .filter(|instance| selection.matches(instance))
            .collect();
        let memo_path = crate::cache::cache_file(MEMO_FILE);
        let mut memo = ArrivalMemo::load(&memo_path);
        let (states, found) = states(&instances, &memo);
        for (instance, found) in instances.iter().zip(found) {
            // The memo (a text file) keeps queue directories that are UTF-8.
            if let (Some(found), Ok(queue)) = (found, instance.queue_directory.to_str()) {
                memo.update(queue, found);
            }
        }
        memo.retain(|queue| {
            registry
                .instances
                .iter()
                .any(|instance| instance.queue_directory == queue)
        });
        memo.save(&memo_path);
        Scrape {
            instances: states,
            broken: registry
                .broken
                .iter()
                .filter(|broken| selection.reaches_broken(broken))
                .cloned()
                .collect(),
        }
    }

    /// The instances whose queues could not be counted, with the reason.
    pub fn queue_errors(&self) -> impl Iterator<Item = (&Instance, &str)> {
        self.instances
            .iter()
            .filter_map(|state| Some((&state.instance, state.queues.as_ref().err()?.as_str())))
    }

    /// Whether anything selected could not be read: a broken instance or
    /// an instance whose queues could not be counted.
    pub fn has_errors(&self) -> bool {
        !self.broken.is_empty() || self.queue_errors().next().is_some()
    }

    /// The Prometheus text exposition of this scrape; `now` (seconds since
    /// the epoch) dates the oldest messages.
    pub fn exposition(&self, now: i64) -> String {
        let mut families = prometheus_client::registry::Registry::default();
        let mut count = Gauges::default();
        count.push(Vec::new(), to_i64(self.instances.len() + self.broken.len()));
        families.register(
            "postmulti_instances",
            "Instances selected, broken ones included",
            count,
        );
        let mut enabled = Gauges::default();
        let mut up = Gauges::default();
        let mut messages = Gauges::default();
        let mut oldest = Gauges::default();
        let mut errors = Gauges::default();
        for state in &self.instances {
            let instance = &state.instance;
            let labels = labels(
                instance.name.as_ref().map(ToString::to_string).as_deref(),
                instance.group.as_ref().map(ToString::to_string).as_deref(),
                &instance.config_directory.to_string(),
            );
            enabled.push(labels.clone(), i64::from(instance.enabled));
            up.push(labels.clone(), i64::from(state.master_pid.is_some()));
            errors.push(labels.clone(), i64::from(state.queues.is_err()));
            let Ok(counts) = &state.queues else {
                continue;
            };
            for queue in Queue::ALL {
                let mut queue_labels = labels.clone();
                queue_labels.push(("queue", queue.name().to_string()));
                messages.push(queue_labels, to_i64(counts.messages(queue)));
            }
            let mut deferred = labels;
            deferred.push(("queue", Queue::Deferred.name().to_string()));
            let age = counts.oldest_deferred_age(now).unwrap_or(0);
            oldest.push(deferred, to_i64(age));
        }
        for broken in &self.broken {
            let labels = labels(
                broken.name.as_ref().map(ToString::to_string).as_deref(),
                broken.group.as_ref().map(ToString::to_string).as_deref(),
                &broken.config_directory.to_string(),
            );
            errors.push(labels, 1);
        }
        families.register(
            "postmulti_instance_enabled",
            "Whether the instance is enabled (multi_instance_enable = yes), 1 or 0",
            enabled,
        );
        families.register(
            "postmulti_instance_up",
            "Whether the instance's master daemon is running, 1 or 0",
            up,
        );
        families.register(
            "postmulti_queue_messages",
            "Messages in the queue, counted from its queue files",
            messages,
        );
        families.register(
            "postmulti_queue_oldest_message_age_seconds",
            "Age of the oldest deferred message from its arrival time, 0 when none",
            oldest,
        );
        families.register(
            "postmulti_scrape_errors",
            "1 when the instance could not be read (main.cf unusable, queues unreadable), else 0",
            errors,
        );
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &families)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The states of `instances` and the deferred messages found in each, in
/// order (what `memo` knows spares reading files).
type States = (Vec<InstanceState>, Vec<Option<Known>>);

// The states of `instances`, in order; counted on a few threads when there
// are many (each instance's walk is independent).
fn states(instances: &[&Instance], memo: &ArrivalMemo) -> States {
    let empty = Known::new();
    let one = |instance: &&Instance| {
        InstanceState::knowing(
            instance,
            instance
                .queue_directory
                .to_str()
                .ok()
                .and_then(|queue| memo.known(queue))
                .unwrap_or(&empty),
        )
    };
    parallel::map_in_order(instances, MIN_INSTANCES_PER_THREAD, one)
        .into_iter()
        .unzip()
}

/// The fewest instances worth a thread of their own.
const MIN_INSTANCES_PER_THREAD: usize = 8;

/// A label set: `instance`, `group`, and sometimes `queue`.
type Labels = Vec<(&'static str, String)>;

// The `instance` and `group` labels of an instance.
fn labels(name: Option<&str>, group: Option<&str>, config_directory: &str) -> Labels {
    vec![
        (
            "instance",
            instance_label(name, config_directory).to_string(),
        ),
        ("group", group.unwrap_or_default().to_string()),
    ]
}

// A count as a gauge value (saturating).
fn to_i64(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

/// A gauge family whose samples are encoded in the order they were added
/// (`prometheus-client`'s `Family` keeps them in a hash map).
#[derive(Debug, Default)]
struct Gauges {
    samples: Vec<(Labels, i64)>,
}

impl Gauges {
    // Adds a sample.
    fn push(&mut self, labels: Labels, value: i64) {
        self.samples.push((labels, value));
    }
}

impl EncodeMetric for Gauges {
    // Each sample, with its labels.
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.samples {
            encoder.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }

    // A gauge.
    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn instance(dir: &str, name: Option<&str>, group: Option<&str>, primary: bool) -> Instance {
        Instance {
            config_directory: dir.into(),
            queue_directory: format!("/nonexistent{dir}").into(),
            data_directory: Default::default(),
            name: name.map(Into::into),
            group: group.map(Into::into),
            enabled: !primary,
            primary,
        }
    }

    #[test]
    fn exposition_in_the_classic_text_format() {
        let queue = tempfile::tempdir().unwrap();
        std::fs::create_dir(queue.path().join("hold")).unwrap();
        let held = queue.path().join("hold/ABCDEF0123");
        std::fs::write(&held, "").unwrap();
        std::fs::set_permissions(&held, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut primary = instance("/etc/postfix", None, None, true);
        primary.queue_directory = queue.path().to_str().unwrap().into();
        let odd = instance(
            "/etc/postfix-odd",
            Some("postfix-\"odd\"\\"),
            Some("mta"),
            false,
        );
        let scrape = Scrape {
            instances: vec![InstanceState::of(&primary), InstanceState::of(&odd)],
            broken: vec![BrokenInstance {
                position: 1,
                config_directory: "/etc/postfix-b".into(),
                name: None,
                group: None,
                reason: "gone".into(),
            }],
        };
        assert!(scrape.has_errors());
        let text = scrape.exposition(0);
        let q = |queue: &str, n: u64| {
            format!("postmulti_queue_messages{{instance=\"/etc/postfix\",group=\"\",queue=\"{queue}\"}} {n}\n")
        };
        let expected = [
            "# HELP postmulti_instances Instances selected, broken ones included.\n".to_string(),
            "# TYPE postmulti_instances gauge\n".into(),
            "postmulti_instances 3\n".into(),
            "# HELP postmulti_instance_enabled Whether the instance is enabled (multi_instance_enable = yes), 1 or 0.\n".into(),
            "# TYPE postmulti_instance_enabled gauge\n".into(),
            "postmulti_instance_enabled{instance=\"/etc/postfix\",group=\"\"} 0\n".into(),
            "postmulti_instance_enabled{instance=\"postfix-\\\"odd\\\"\\\\\",group=\"mta\"} 1\n".into(),
            "# HELP postmulti_instance_up Whether the instance's master daemon is running, 1 or 0.\n".into(),
            "# TYPE postmulti_instance_up gauge\n".into(),
            "postmulti_instance_up{instance=\"/etc/postfix\",group=\"\"} 0\n".into(),
            "postmulti_instance_up{instance=\"postfix-\\\"odd\\\"\\\\\",group=\"mta\"} 0\n".into(),
            "# HELP postmulti_queue_messages Messages in the queue, counted from its queue files.\n".into(),
            "# TYPE postmulti_queue_messages gauge\n".into(),
            q("incoming", 0),
            q("active", 0),
            q("deferred", 0),
            q("hold", 1),
            q("maildrop", 0),
            q("corrupt", 0),
            "# HELP postmulti_queue_oldest_message_age_seconds Age of the oldest deferred message from its arrival time, 0 when none.\n".into(),
            "# TYPE postmulti_queue_oldest_message_age_seconds gauge\n".into(),
            "postmulti_queue_oldest_message_age_seconds{instance=\"/etc/postfix\",group=\"\",queue=\"deferred\"} 0\n".into(),
            "# HELP postmulti_scrape_errors 1 when the instance could not be read (main.cf unusable, queues unreadable), else 0.\n".into(),
            "# TYPE postmulti_scrape_errors gauge\n".into(),
            "postmulti_scrape_errors{instance=\"/etc/postfix\",group=\"\"} 0\n".into(),
            "postmulti_scrape_errors{instance=\"postfix-\\\"odd\\\"\\\\\",group=\"mta\"} 1\n".into(),
            "postmulti_scrape_errors{instance=\"/etc/postfix-b\",group=\"\"} 1\n".into(),
        ]
        .concat();
        assert_eq!(text, expected);
        let errors: Vec<_> = scrape
            .queue_errors()
            .map(|(instance, reason)| (instance.config_directory.to_string(), reason))
            .collect();
        assert_eq!(
            errors,
            [(
                "/etc/postfix-odd".to_string(),
                "/nonexistent/etc/postfix-odd: No such file or directory"
            )]
        );
    }
}
