//! `disallow-latest-tag`: a guardrail policy that denies container images that are not
//! pinned. Every container and init container of every pod spec (Pod, Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) must name an
//! image with a tag other than `latest` (`nginx:1.27`) or with a digest
//! (`nginx@sha256:…`); an image without a tag means `latest`. Objects without a pod spec
//! are not checked.

use kiln_sdk::container_label;
use kiln_sdk::prelude::*;

/// `disallow-latest-tag` has no parameters.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// Denies every container whose image is untagged or tagged `latest`.
pub fn disallow_latest_tag(_params: Params, input: &PolicyInput) -> Result<PolicyOutput> {
    let mut out = PolicyOutput::new();
    for object in &input.objects {
        for (path, container) in object.containers() {
            if let Some(message) = unpinned(&path, container) {
                out = out.deny(object, Some(&format!("{path}.image")), message);
            }
        }
    }
    Ok(out)
}

/// Why the container at `path` is not pinned, or `None` when it is (or names no image).
fn unpinned(path: &str, container: &Value) -> Option<String> {
    let image = container["image"].as_str().filter(|i| !i.is_empty())?;
    let who = container_label(path, container);
    match Reference::parse(image) {
        Reference::Digest | Reference::Tag(_) => None,
        Reference::Untagged => Some(format!(
            "{who} uses image \"{image}\", which has no tag (meaning latest); \
             pin a version or a digest"
        )),
        Reference::Latest => Some(format!(
            "{who} uses image \"{image}\", whose tag \"latest\" is not a version; \
             pin a version or a digest"
        )),
    }
}

/// What an image reference pins.
#[derive(Debug, PartialEq, Eq)]
enum Reference<'a> {
    /// `name@sha256:…` (with or without a tag): pinned by content.
    Digest,
    /// `name:<tag>` with a tag other than `latest`.
    Tag(&'a str),
    /// `name:latest`.
    Latest,
    /// `name`: no tag, which means `latest`.
    Untagged,
}

impl<'a> Reference<'a> {
    /// Reads `[registry[:port]/]path[:tag][@digest]`. The tag follows the last `:` of the
    /// last path segment, so a registry port (`registry:5000/app`) is not a tag.
    fn parse(image: &'a str) -> Reference<'a> {
        if image.contains('@') {
            return Reference::Digest;
        }
        let last_segment = image.rsplit('/').next().unwrap_or(image);
        match last_segment.rsplit_once(':') {
            None | Some((_, "")) => Reference::Untagged,
            Some((_, "latest")) => Reference::Latest,
            Some((_, tag)) => Reference::Tag(tag),
        }
    }
}

kiln_sdk::export_policy! {
    name: "disallow-latest-tag",
    description: "Every container image must be pinned: a tag other than latest, or a digest.",
    check: disallow_latest_tag,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::check_policy;

    fn deployment(images: &[&str]) -> Value {
        let containers: Vec<Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({ "name": format!("c{i}"), "image": image }))
            .collect();
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "api", "namespace": "prod" },
            "spec": { "template": { "spec": { "containers": containers } } }
        })
    }

    /// `(object, field, message)` of every denial.
    fn denials(objects: Vec<Value>) -> Vec<(String, String, String)> {
        kiln_sdk::testing::denials(&check_policy(disallow_latest_tag, json!({}), objects).unwrap())
    }

    #[test]
    fn parses_references() {
        let cases = [
            ("nginx", Reference::Untagged),
            ("nginx:", Reference::Untagged),
            ("nginx:latest", Reference::Latest),
            ("nginx:1.27", Reference::Tag("1.27")),
            ("library/nginx:1.27-alpine", Reference::Tag("1.27-alpine")),
            ("registry:5000/app", Reference::Untagged),
            ("registry:5000/app:1.2", Reference::Tag("1.2")),
            ("registry:5000/team/app:latest", Reference::Latest),
            ("ghcr.io/org/app", Reference::Untagged),
            ("nginx@sha256:0123abcd", Reference::Digest),
            ("nginx:latest@sha256:0123abcd", Reference::Digest),
            ("registry:5000/app@sha256:0123abcd", Reference::Digest),
        ];
        for (image, expected) in cases {
            assert_eq!(Reference::parse(image), expected, "{image}");
        }
    }

    #[test]
    fn pinned_images_pass() {
        let images = [
            "nginx:1.27",
            "registry:5000/app:1.2",
            "nginx@sha256:0123abcd",
            "nginx:latest@sha256:0123abcd",
        ];
        assert!(denials(vec![deployment(&images)]).is_empty());
    }

    #[test]
    fn an_untagged_image_is_denied() {
        assert_eq!(
            denials(vec![deployment(&["nginx:1.27", "nginx"])]),
            [(
                "Deployment/prod/api".to_string(),
                "spec.template.spec.containers[1].image".to_string(),
                "container \"c1\" uses image \"nginx\", which has no tag (meaning latest); \
                 pin a version or a digest"
                    .to_string(),
            )]
        );
    }

    #[test]
    fn a_registry_port_is_not_a_tag() {
        let found = denials(vec![deployment(&["registry:5000/app"])]);
        assert_eq!(found.len(), 1);
        assert!(found[0].2.contains("which has no tag"), "{}", found[0].2);
    }

    #[test]
    fn the_latest_tag_is_denied() {
        assert_eq!(
            denials(vec![deployment(&["nginx:latest"])]),
            [(
                "Deployment/prod/api".to_string(),
                "spec.template.spec.containers[0].image".to_string(),
                "container \"c0\" uses image \"nginx:latest\", whose tag \"latest\" is not \
                 a version; pin a version or a digest"
                    .to_string(),
            )]
        );
    }

    #[test]
    fn init_containers_are_checked() {
        let mut object = deployment(&["nginx:1.27"]);
        object["spec"]["template"]["spec"]["initContainers"] =
            json!([{ "name": "setup", "image": "busybox" }]);
        let found = denials(vec![object]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, "spec.template.spec.initContainers[0].image");
        assert!(
            found[0]
                .2
                .starts_with("init container \"setup\" uses image \"busybox\"")
        );
    }

    #[test]
    fn a_cronjob_is_checked_at_its_job_template() {
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": { "name": "nightly", "namespace": "prod" },
            "spec": { "jobTemplate": { "spec": { "template": { "spec": {
                "containers": [{ "name": "nightly", "image": "app:latest" }]
            } } } } }
        });
        let found = denials(vec![cronjob]);
        assert_eq!(found[0].0, "CronJob/prod/nightly");
        assert_eq!(
            found[0].1,
            "spec.jobTemplate.spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn a_pod_is_checked_at_its_spec() {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": "debug" },
            "spec": { "containers": [{ "name": "debug", "image": "busybox" }] }
        });
        let found = denials(vec![pod]);
        assert_eq!(found[0].0, "Pod/debug");
        assert_eq!(found[0].1, "spec.containers[0].image");
    }

    #[test]
    fn other_workloads_are_checked_at_their_pod_template() {
        for kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
            let mut object = deployment(&["nginx"]);
            object["kind"] = json!(kind);
            let found = denials(vec![object]);
            assert_eq!(found.len(), 1, "{kind}");
            assert_eq!(found[0].0, format!("{kind}/prod/api"));
        }
    }

    #[test]
    fn objects_without_a_pod_spec_and_containers_without_an_image_are_skipped() {
        let objects = vec![
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" },
                    "spec": { "containers": [{ "name": "x", "image": "nginx" }] } }),
            json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" },
                    "spec": { "containers": [{ "name": "x" }] } }),
        ];
        assert!(denials(objects).is_empty());
    }

    #[test]
    fn takes_no_parameters() {
        let err = check_policy(disallow_latest_tag, json!({ "allow": ["nginx"] }), vec![]);
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("unknown field `allow`")
        );
    }
}
