//! What a definition returns.

use serde_json::Value;

/// A patch to the workload or to an earlier auxiliary object. The host applies it.
///
/// [`Patch::merge`] is Kiln's strategic merge, which follows KubeVela's patch semantics:
/// - maps merge deeply; a scalar that two parties set to different values is an error
///   naming both;
/// - lists of objects merge by key: `containers`, `initContainers`, `env`, `volumes`,
///   `volumeMounts`, `imagePullSecrets`, `hostAliases` (by `ip`) and `ports` (by
///   `containerPort`) do so by default, others when the patch says
///   `"$patchKey/<field>": "<key>"` beside the list (KubeVela's `// +patchKey=`);
/// - `"$patchStrategy/<field>": "retainKeys"` replaces that field's value instead of
///   merging it (and, in a keyed list, the matching items wholesale);
///   `"$patchStrategy/<field>": "replace"` replaces a list whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// Kiln's strategic merge (see above).
    Merge(Value),
    /// RFC 7396 JSON merge patch: `null` deletes a key.
    JsonMergePatch(Value),
    /// RFC 6902 JSON patch: a list of operations.
    JsonPatch(Value),
}

impl Patch {
    /// Kiln's strategic merge patch.
    pub fn merge(patch: Value) -> Self {
        Patch::Merge(patch)
    }

    /// An RFC 7396 JSON merge patch.
    pub fn json_merge_patch(patch: Value) -> Self {
        Patch::JsonMergePatch(patch)
    }

    /// An RFC 6902 JSON patch (`operations` is a JSON array).
    pub fn json_patch(operations: Value) -> Self {
        Patch::JsonPatch(operations)
    }

    /// The patch document, whatever its strategy.
    pub fn value(&self) -> &Value {
        match self {
            Patch::Merge(v) | Patch::JsonMergePatch(v) | Patch::JsonPatch(v) => v,
        }
    }
}

/// What a component type renders: the workload object and its auxiliary objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadOutput {
    /// The workload object (KubeVela's `output`).
    pub output: Value,
    /// Auxiliary objects by name, in order (KubeVela's `outputs`).
    pub outputs: Vec<(String, Value)>,
    pub(crate) warnings: Vec<(Option<String>, String)>,
}

impl WorkloadOutput {
    /// The workload object alone.
    pub fn new(output: Value) -> Self {
        WorkloadOutput {
            output,
            ..Default::default()
        }
    }

    /// Adds an auxiliary object named `name`.
    pub fn with_output(mut self, name: impl Into<String>, object: Value) -> Self {
        self.outputs.push((name.into(), object));
        self
    }

    /// Adds a warning shown to the user; the render still succeeds.
    pub fn warn(mut self, field: Option<&str>, message: impl Into<String>) -> Self {
        self.warnings.push((field.map(Into::into), message.into()));
        self
    }
}

/// What a trait renders: a patch to the workload, auxiliary objects, and patches to
/// earlier auxiliary objects.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraitOutput {
    /// Auxiliary objects by name, in order (KubeVela's `outputs`).
    pub outputs: Vec<(String, Value)>,
    /// The patch to the workload (KubeVela's `patch`).
    pub patch: Option<Patch>,
    /// Patches to auxiliary objects rendered earlier (KubeVela's `patchOutputs`).
    pub patch_outputs: Vec<(String, Patch)>,
    pub(crate) warnings: Vec<(Option<String>, String)>,
}

impl TraitOutput {
    /// A trait output that does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the patch to the workload.
    pub fn patch(mut self, patch: Patch) -> Self {
        self.patch = Some(patch);
        self
    }

    /// Adds an auxiliary object named `name`.
    pub fn with_output(mut self, name: impl Into<String>, object: Value) -> Self {
        self.outputs.push((name.into(), object));
        self
    }

    /// Patches the auxiliary object named `name`, rendered earlier.
    pub fn patch_output(mut self, name: impl Into<String>, patch: Patch) -> Self {
        self.patch_outputs.push((name.into(), patch));
        self
    }

    /// Adds a warning shown to the user; the render still succeeds.
    pub fn warn(mut self, field: Option<&str>, message: impl Into<String>) -> Self {
        self.warnings.push((field.map(Into::into), message.into()));
        self
    }

    /// The workload patch document, if any (handy in tests).
    pub fn patch_value(&self) -> Option<&Value> {
        self.patch.as_ref().map(Patch::value)
    }

    /// The auxiliary object named `name`, if any (handy in tests).
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}
