//! Diagnostics: one problem in an input file, with where and a hint. (Stub.)

/// One problem found in an input file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// YAML path of the key, e.g. `services.cart.endpoints.get.steps[1].call`.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found in a file, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// All diagnostics as text, with the offending source lines (stub).
    pub fn render(&self, _source: &str) -> String {
        self.0.iter().map(|d| format!("{}:{}:{}: {}: {}\n", d.file, d.line, d.column, d.path, d.message)).collect()
    }
}
