//! A report page as format-neutral blocks — headings, paragraphs, an alert,
//! facts, lists, tables, charts, code — rendered to one self-contained HTML
//! file ([`to_html`]) or to Markdown ([`to_markdown`]). A report is built
//! once as a [`Page`]; both files come from it, so a number reads the same
//! in both.
//!
//! What it does not: compute or format numbers (callers pass text, see
//! [`Cell`] for intervals and deltas), draw charts ([`super::chart`] makes
//! the SVG a [`Figure`] carries), or touch files.

mod html;
mod markdown;
mod table;

pub(crate) use html::esc;
pub use html::to_html;
pub use markdown::to_markdown;
pub use table::{Better, Cell, Column, Row, Table, Verdict};

/// A piece of running text.
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    Text(String),
    /// An identifier or a command: monospace, never reflowed.
    Code(String),
    Strong(String),
}

/// Running text made of spans.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Text(pub Vec<Span>);

impl Text {
    pub fn new() -> Text {
        Text(Vec::new())
    }

    pub fn plain(s: impl Into<String>) -> Text {
        Text(vec![Span::Text(s.into())])
    }

    /// Appends plain text.
    pub fn t(mut self, s: impl Into<String>) -> Text {
        self.0.push(Span::Text(s.into()));
        self
    }

    /// Appends code.
    pub fn code(mut self, s: impl Into<String>) -> Text {
        self.0.push(Span::Code(s.into()));
        self
    }

    /// Appends strong text.
    pub fn strong(mut self, s: impl Into<String>) -> Text {
        self.0.push(Span::Strong(s.into()));
        self
    }
}

/// A chart or a drawing: inline SVG (HTML only).
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// A whole `<svg>…</svg>` document, as [`super::chart`] draws it.
    pub svg: String,
    /// Said under the figure, and used as its accessible name.
    pub caption: String,
    /// As wide as the page instead of sharing a row with others.
    pub wide: bool,
}

/// Which file a block is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section heading: 2 for a section, 3 for a subsection (the page's
    /// title is level 1, from [`Page::title`]).
    Heading(u8, String),
    Paragraph(Text),
    /// A warning no reader can miss (a partial run).
    Alert(Text),
    /// Short `name: value` lines (the run's settings).
    Facts(Vec<(String, Text)>),
    List(Vec<Text>),
    Table(Table),
    /// Figures, side by side where the screen is wide enough. Markdown
    /// leaves them out.
    Figures(Vec<Figure>),
    /// Preformatted text in a language (`mermaid`, `sh`).
    Code {
        lang: String,
        text: String,
    },
    /// A block for one of the two files only.
    Only(Format, Box<Block>),
}

/// A whole report.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub title: String,
    /// Under the title (the HTML page's `<title>` is the title alone).
    pub subtitle: Option<Text>,
    pub blocks: Vec<Block>,
}

impl Page {
    pub fn new(title: impl Into<String>) -> Page {
        Page { title: title.into(), subtitle: None, blocks: Vec::new() }
    }

    pub fn push(&mut self, b: Block) {
        self.blocks.push(b);
    }

    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    pub fn paragraph(&mut self, t: Text) {
        self.blocks.push(Block::Paragraph(t));
    }

    /// A block for one file only.
    pub fn only(&mut self, f: Format, b: Block) {
        self.blocks.push(Block::Only(f, Box::new(b)));
    }
}
