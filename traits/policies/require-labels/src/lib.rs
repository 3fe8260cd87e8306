//! `require-labels`: a guardrail policy that denies objects missing required labels. Each
//! object (or each object of the configured kinds) must carry every configured label in
//! `metadata.labels`, with a non-empty value. Kiln's own labels and the Application's
//! labels are already on every object when the policy runs.

use kiln_sdk::prelude::*;

/// Parameters of `require-labels`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The labels every checked object must have, each with a non-empty value, like `team`
    /// or `app.kubernetes.io/name`
    pub labels: Vec<String>,
    /// The kinds of object to check, as written in `kind` (like `Deployment`); empty checks
    /// every object
    #[serde(default)]
    pub kinds: Vec<String>,
}

impl Params {
    /// Rejects parameters that check nothing or name an empty label or kind.
    fn validate(&self) -> Result<()> {
        if self.labels.is_empty() {
            return Err(Error::field("labels", "name at least one label, like team"));
        }
        for (list, items) in [("labels", &self.labels), ("kinds", &self.kinds)] {
            if let Some(i) = items.iter().position(|s| s.is_empty()) {
                return Err(Error::field(format!("{list}[{i}]"), "cannot be empty"));
            }
        }
        Ok(())
    }

    /// True when the policy checks objects of `kind`.
    fn selects(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind)
    }
}

/// Denies every selected object for every required label it lacks or leaves empty.
pub fn require_labels(params: Params, input: &PolicyInput) -> Result<PolicyOutput> {
    params.validate()?;
    let mut out = PolicyOutput::new();
    for object in input.objects.iter().filter(|o| params.selects(o.kind())) {
        for (field, message) in missing(&params.labels, object) {
            out = out.deny(object, Some(&field), message);
        }
    }
    Ok(out)
}

/// The required labels the object lacks or leaves empty, as `(field, message)`.
fn missing(labels: &[String], object: &PolicyObject) -> Vec<(String, String)> {
    let present = &object.object["metadata"]["labels"];
    let who = format!("{} \"{}\"", object.kind(), object.name());
    labels
        .iter()
        .filter_map(|label| {
            let problem = match &present[label.as_str()] {
                Value::Null => "lacks the label",
                Value::String(value) if value.is_empty() => "has an empty value for the label",
                _ => return None,
            };
            Some((
                format!("metadata.labels.{label}"),
                format!("{who} {problem} \"{label}\""),
            ))
        })
        .collect()
}

kiln_sdk::export_policy! {
    name: "require-labels",
    description: "Every object (or every object of the given kinds) must carry the given labels with non-empty values.",
    check: require_labels,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::{check_policy, schema_of};

    fn object(kind: &str, name: &str, labels: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": { "name": name, "namespace": "prod", "labels": labels },
        })
    }

    /// `(object, field, message)` of every denial.
    fn denials(params: Value, objects: Vec<Value>) -> Vec<(String, String, String)> {
        kiln_sdk::testing::denials(&check_policy(require_labels, params, objects).unwrap())
    }

    fn error(params: Value) -> String {
        check_policy(require_labels, params, vec![])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn labelled_objects_pass() {
        let labels = json!({ "team": "payments", "app.kubernetes.io/name": "shop" });
        let objects = vec![
            object("Deployment", "api", labels.clone()),
            object("Service", "api", labels),
        ];
        let params = json!({ "labels": ["team", "app.kubernetes.io/name"] });
        assert!(denials(params, objects).is_empty());
    }

    #[test]
    fn a_missing_label_is_denied() {
        let objects = vec![object("Deployment", "api", json!({ "tier": "web" }))];
        assert_eq!(
            denials(json!({ "labels": ["team"] }), objects),
            [(
                "Deployment/prod/api".to_string(),
                "metadata.labels.team".to_string(),
                "Deployment \"api\" lacks the label \"team\"".to_string(),
            )]
        );
    }

    #[test]
    fn an_object_without_labels_lacks_every_one() {
        let bare = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" } });
        let found = denials(
            json!({ "labels": ["team", "app.kubernetes.io/name"] }),
            vec![bare],
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].0, "ConfigMap/c");
        assert_eq!(found[1].1, "metadata.labels.app.kubernetes.io/name");
        assert_eq!(
            found[1].2,
            "ConfigMap \"c\" lacks the label \"app.kubernetes.io/name\""
        );
    }

    #[test]
    fn an_empty_value_is_denied() {
        let objects = vec![object("Deployment", "api", json!({ "team": "" }))];
        assert_eq!(
            denials(json!({ "labels": ["team"] }), objects),
            [(
                "Deployment/prod/api".to_string(),
                "metadata.labels.team".to_string(),
                "Deployment \"api\" has an empty value for the label \"team\"".to_string(),
            )]
        );
    }

    #[test]
    fn every_object_is_checked_by_default() {
        let objects = vec![
            object("Deployment", "api", json!({})),
            object("Service", "api", json!({})),
            object("CronJob", "nightly", json!({})),
            object("Pod", "debug", json!({})),
        ];
        let ids: Vec<_> = denials(json!({ "labels": ["team"] }), objects)
            .into_iter()
            .map(|d| d.0)
            .collect();
        assert_eq!(
            ids,
            [
                "Deployment/prod/api",
                "Service/prod/api",
                "CronJob/prod/nightly",
                "Pod/prod/debug"
            ]
        );
    }

    #[test]
    fn kinds_select_the_objects_checked() {
        let objects = vec![
            object("Deployment", "api", json!({})),
            object("Service", "api", json!({})),
            object("CronJob", "nightly", json!({})),
        ];
        let params = json!({ "labels": ["team"], "kinds": ["Deployment", "CronJob"] });
        let ids: Vec<_> = denials(params, objects).into_iter().map(|d| d.0).collect();
        assert_eq!(ids, ["Deployment/prod/api", "CronJob/prod/nightly"]);
    }

    #[test]
    fn labels_are_required_and_not_empty() {
        assert!(error(json!({})).contains("missing field `labels`"));
        assert_eq!(
            error(json!({ "labels": [] })),
            "labels: name at least one label, like team"
        );
        assert_eq!(
            error(json!({ "labels": ["team", ""] })),
            "labels[1]: cannot be empty"
        );
        assert_eq!(
            error(json!({ "labels": ["team"], "kinds": [""] })),
            "kinds[0]: cannot be empty"
        );
    }

    #[test]
    fn rejects_unknown_and_mistyped_parameters() {
        assert!(
            error(json!({ "labels": ["team"], "kind": ["Pod"] })).contains("unknown field `kind`")
        );
        assert!(error(json!({ "labels": "team" })).starts_with("labels: invalid type"));
    }

    #[test]
    fn the_schema_documents_the_parameters() {
        let schema = schema_of::<Params>();
        assert_eq!(schema["required"], json!(["labels"]));
        assert_eq!(schema["properties"]["kinds"]["default"], json!([]));
        assert!(schema["properties"]["labels"]["description"].is_string());
    }
}
