//! The pod template of KubeVela's workload types (`webservice`, `worker`, `daemon`,
//! `statefulset`, `task`, `cron-task`): one container named after the component, in a pod
//! labelled with the application and the component.
//!
//! Their CUE templates copy most parameters into the container and the pod as they are,
//! each when it is set (`if parameter.cmd != _|_ { command: parameter.cmd }`); so does
//! [`PodTemplate`], by the parameters' KubeVela names, from the workload's own `Params`.
//! Only what each type computes (its ports, its mounts and volumes) is passed in.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

use crate::{COMPONENT_LABEL, NAME_LABEL, REVISION_LABEL, pod_labels, pod_metadata};

/// The parameters the container takes as they are: `(parameter, container field)`.
const CONTAINER_FIELDS: &[(&str, &str)] = &[
    ("image", "image"),
    ("imagePullPolicy", "imagePullPolicy"),
    ("cmd", "command"),
    ("args", "args"),
    ("env", "env"),
    ("livenessProbe", "livenessProbe"),
    ("readinessProbe", "readinessProbe"),
];

/// The parameters the pod takes as they are: `(parameter, pod field)`.
const POD_FIELDS: &[(&str, &str)] = &[("hostAliases", "hostAliases"), ("restart", "restartPolicy")];

/// The pod template of a workload type, from its parameters.
pub struct PodTemplate {
    /// The component's name: the container's.
    name: String,
    /// The parameters as given (serialized: unset optional ones are absent).
    params: Map<String, Value>,
    /// `{labels, annotations?}`.
    metadata: Value,
    /// Why the revision label is not what KubeVela sets, when `addRevisionLabel` asks for it.
    revision_warning: Option<String>,
}

impl PodTemplate {
    /// The template of the component `ctx.component_name` with the parameters `params`:
    /// its metadata from `labels`, `annotations` and `addRevisionLabel`. The OAM labels
    /// (and the revision label when asked for) must not contradict the user's.
    pub fn new(ctx: &Context, params: &impl Serialize) -> Result<PodTemplate> {
        let Value::Object(params) = json!(params) else {
            return Err(Error::msg("the parameters are not an object"));
        };
        let mut oam = vec![
            (NAME_LABEL, ctx.app_name.clone()),
            (COMPONENT_LABEL, ctx.component_name.clone()),
        ];
        let mut revision_warning = None;
        if params.get("addRevisionLabel") == Some(&Value::Bool(true)) {
            // Kiln has no component revisions; the application revision stands in for them.
            oam.push((REVISION_LABEL, ctx.app_revision.clone()));
            revision_warning = Some(format!(
                "Kiln has no component revisions: {REVISION_LABEL} is set to the application revision {:?}",
                ctx.app_revision
            ));
        }
        let labels = pod_labels(string_map(params.get("labels")).as_ref(), &oam)?;
        let metadata = pod_metadata(labels, string_map(params.get("annotations")).as_ref());
        Ok(PodTemplate {
            name: ctx.component_name.clone(),
            params,
            metadata,
            revision_warning,
        })
    }

    /// The pod template's `metadata`.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// `{metadata, spec}`: the container with the copied parameters, `resources`, `ports`
    /// and the mounts of `mounts_and_volumes`; the pod with the copied parameters,
    /// `imagePullSecrets` and its volumes.
    ///
    /// The parameters move into the pod rather than being copied (this runs for every
    /// component of every render), so a template renders once.
    pub fn render(
        &mut self,
        ports: Option<Value>,
        mounts_and_volumes: Option<(Vec<Value>, Vec<Value>)>,
    ) -> Value {
        let (mounts, volumes) = mounts_and_volumes.unzip();
        let mut container = self.take(CONTAINER_FIELDS);
        container.insert("name".into(), Value::String(self.name.clone()));
        insert(&mut container, "ports", ports);
        insert(&mut container, "resources", resources(&self.params));
        insert(&mut container, "volumeMounts", mounts.map(Value::Array));

        let mut spec = self.take(POD_FIELDS);
        spec.insert(
            "containers".into(),
            Value::Array(vec![Value::Object(container)]),
        );
        let secrets = match self.params.remove("imagePullSecrets") {
            Some(Value::Array(names)) => Some(
                names
                    .into_iter()
                    .map(|name| {
                        let mut secret = Map::new();
                        secret.insert("name".into(), name);
                        Value::Object(secret)
                    })
                    .collect(),
            ),
            _ => None,
        };
        insert(&mut spec, "imagePullSecrets", secrets.map(Value::Array));
        insert(&mut spec, "volumes", volumes.map(Value::Array));
        let mut template = Map::new();
        template.insert("metadata".into(), self.metadata.clone());
        template.insert("spec".into(), Value::Object(spec));
        Value::Object(template)
    }

    /// `out` with the warning of `addRevisionLabel`, when it asked for the label.
    pub fn warn(&self, out: WorkloadOutput) -> WorkloadOutput {
        match &self.revision_warning {
            Some(message) => out.warn(Some("addRevisionLabel"), message.clone()),
            None => out,
        }
    }

    /// The fields of `fields` whose parameter is set, under their Kubernetes names, taken
    /// out of the parameters.
    fn take(&mut self, fields: &[(&str, &str)]) -> Map<String, Value> {
        fields
            .iter()
            .filter_map(|(parameter, field)| {
                let value = self.params.remove(*parameter)?;
                Some(((*field).to_string(), value))
            })
            .collect()
    }
}

/// `resources` from `cpu` and `memory`, each requested and limited alike unless `limit`
/// (`webservice`'s) sets its limit; only the amounts requested count.
fn resources(params: &Map<String, Value>) -> Option<Value> {
    let mut requests = Map::new();
    let mut limits = Map::new();
    for amount in ["cpu", "memory"] {
        if let Some(request) = params.get(amount) {
            let limit = params.get("limit").and_then(|l| l.get(amount));
            requests.insert(amount.into(), request.clone());
            limits.insert(amount.into(), limit.unwrap_or(request).clone());
        }
    }
    (!requests.is_empty()).then(|| json!({ "limits": limits, "requests": requests }))
}

/// Sets `field` of `object` when there is a `value`.
fn insert(object: &mut Map<String, Value>, field: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(field.into(), value);
    }
}

/// A map of strings (`labels`, `annotations`) from its serialized parameter.
fn string_map(value: Option<&Value>) -> Option<BTreeMap<String, String>> {
    let entries = value?.as_object()?;
    Some(
        entries
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
    )
}
