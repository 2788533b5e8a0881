//! Word (.docx) and OpenDocument (.odt) text. The document XML is parsed as a stream straight
//! out of the ZIP through a bounded reader, so neither a lying size header nor a ZIP bomb can
//! make it hold more than the limit. Paragraphs become lines, table rows TAB-separated lines,
//! headings "#" lines, and list numbering (Word's, and OpenDocument's in [`super::odf_lists`]) is
//! written out ("1. ", "- "), since agendas rely on it.

use std::collections::HashMap;
use std::io::{self, BufReader, Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::odf_lists::{ListStyles, Lists};
use super::{Deadline, Limits};

/// The office formats a ZIP can hold.
pub enum Kind {
    Docx,
    Odt,
}

/// Which office format a ZIP holds: `None` for another kind of ZIP, `Err` for a damaged one or
/// one with too many entries.
pub fn zip_kind(bytes: &[u8], limits: &Limits) -> Result<Option<Kind>, String> {
    let archive = open(bytes, limits)?;
    let has = |name: &str| archive.file_names().any(|n| n == name);
    Ok(if has("word/document.xml") {
        Some(Kind::Docx)
    } else if has("content.xml") {
        Some(Kind::Odt)
    } else {
        None
    })
}

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// Central directory records, counted before the ZIP library allocates one entry for each.
fn count_entries(bytes: &[u8]) -> usize {
    bytes.windows(4).filter(|w| *w == b"PK\x01\x02").count()
}

fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Archive<'a>, String> {
    let too_many = |n: usize| {
        format!(
            "ZIP has {n} entries (limit {}): not a normal document",
            limits.max_zip_entries
        )
    };
    let records = count_entries(bytes);
    if records > limits.max_zip_entries {
        return Err(too_many(records));
    }
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the ZIP inside is damaged or truncated ({e})"))?;
    if archive.len() > limits.max_zip_entries {
        return Err(too_many(archive.len()));
    }
    Ok(archive)
}

/// Longest stretch of XML without a '<' (one text run or tag) allowed: the XML parser holds a
/// whole event in memory.
const MAX_RUN: usize = 16 * 1024 * 1024;

/// Reads at most `left` bytes and fails if there are more: a ZIP entry's declared size is not
/// believed. Also fails on a stretch of more than [`MAX_RUN`] bytes without a '<'.
struct Bounded<R> {
    inner: R,
    left: u64,
    exceeded: bool,
    run: usize,
    overlong: bool,
}

impl<R> Bounded<R> {
    fn new(inner: R, left: u64) -> Bounded<R> {
        Bounded {
            inner,
            left,
            exceeded: false,
            run: 0,
            overlong: false,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One probe byte tells an entry that ends here from one that goes on.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(io::Error::other("the ZIP expands beyond the limit"));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        let read = &buf[..n];
        let before_first = read.iter().position(|&b| b == b'<').unwrap_or(n);
        let longest = self.run + before_first;
        self.run = match read.iter().rposition(|&b| b == b'<') {
            Some(at) => n - at - 1,
            None => self.run + n,
        };
        if longest.max(self.run) > MAX_RUN {
            self.overlong = true;
            return Err(io::Error::other("an XML run beyond the limit"));
        }
        Ok(n)
    }
}

/// Whether an event handler wants more.
enum Flow {
    More,
    Enough,
}

/// How many bytes the entries of one ZIP may expand to, together: entries can overlap (point
/// at the same compressed bytes), so each one read spends from the same budget.
struct Budget {
    limit: u64,
    left: u64,
}

impl Budget {
    fn new(limit: u64) -> Budget {
        Budget { limit, left: limit }
    }
}

/// Streams the XML entry `name` through `on_event`, within the expansion `budget` (what is left
/// of it afterwards is written back) and the deadline. `Ok(false)` when there is no such entry.
fn for_each_event(
    archive: &mut Archive<'_>,
    name: &str,
    budget: &mut Budget,
    deadline: &mut Deadline,
    mut on_event: impl FnMut(Event<'_>) -> Result<Flow, String>,
) -> Result<bool, String> {
    let entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(false),
        Err(e) => return Err(format!("{name} in the ZIP cannot be read ({e})")),
    };
    let bounded = Bounded::new(entry, budget.left);
    let mut reader = Reader::from_reader(BufReader::new(bounded));
    let mut buf = Vec::new();
    let outcome = loop {
        if let Err(late) = deadline.tick() {
            break Err(late);
        }
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break Ok(()),
            Ok(event) => match on_event(event) {
                Ok(Flow::More) => {}
                Ok(Flow::Enough) => break Ok(()),
                Err(e) => break Err(e),
            },
            Err(e) => break Err(format!("{name} is not well-formed XML ({e})")),
        }
    };
    let bounded = reader.get_ref().get_ref();
    if bounded.exceeded {
        return Err(format!(
            "ZIP expands to more than {} MB (a ZIP bomb?)",
            limits_mb(budget.limit)
        ));
    }
    if bounded.overlong {
        return Err(format!(
            "{name} holds a single text or tag of more than {} MB (a ZIP bomb?)",
            limits_mb(MAX_RUN as u64)
        ));
    }
    budget.left = bounded.left;
    outcome.map(|()| true)
}

fn limits_mb(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

pub(super) fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn text_of(t: &quick_xml::events::BytesText<'_>) -> Result<String, String> {
    t.unescape()
        .map(|s| s.into_owned())
        .map_err(|e| format!("the document's XML is broken ({e})"))
}

/// Builds lines: paragraphs, and table rows of cells. Tables inside table cells are flattened
/// into the outer cell.
struct Lines {
    out: String,
    paragraph: String,
    row: Option<Vec<String>>,
    cell: Option<String>,
    table_depth: usize,
    /// Bytes after which the text is long enough (the caller cuts it to characters).
    max_bytes: usize,
}

impl Lines {
    fn new(limits: &Limits) -> Lines {
        Lines {
            out: String::new(),
            paragraph: String::new(),
            row: None,
            cell: None,
            table_depth: 0,
            max_bytes: limits.max_text_chars.saturating_mul(4),
        }
    }

    fn text(&mut self, s: &str) {
        self.paragraph.push_str(s);
    }

    fn full(&self) -> bool {
        self.out.len() + self.paragraph.len() > self.max_bytes
    }

    fn flow(&self) -> Flow {
        if self.full() {
            Flow::Enough
        } else {
            Flow::More
        }
    }

    fn end_paragraph(&mut self, prefix: &str) {
        let text = std::mem::take(&mut self.paragraph);
        if let Some(cell) = &mut self.cell {
            let text = text.replace(['\t', '\n'], " ");
            let text = text.trim();
            if !cell.is_empty() && !text.is_empty() {
                cell.push(' ');
            }
            cell.push_str(text);
        } else {
            self.out.push_str(prefix);
            self.out.push_str(text.trim_end());
            self.out.push('\n');
        }
    }

    fn start_row(&mut self) {
        if self.table_depth <= 1 {
            self.row = Some(Vec::new());
        }
    }

    fn start_cell(&mut self) {
        if self.table_depth <= 1 {
            self.cell = Some(String::new());
        }
    }

    fn end_cell(&mut self, repeat: usize) {
        if self.table_depth > 1 {
            return;
        }
        if let (Some(cell), Some(row)) = (self.cell.take(), &mut self.row) {
            // ODT repeats empty cells to the sheet's edge; only filled ones are worth repeating.
            let times = if cell.is_empty() {
                1
            } else {
                repeat.clamp(1, 50)
            };
            row.extend(std::iter::repeat_n(cell, times));
        }
    }

    fn end_row(&mut self) {
        if self.table_depth > 1 {
            return;
        }
        if let Some(mut row) = self.row.take() {
            while row.last().is_some_and(|c| c.is_empty()) {
                row.pop();
            }
            if !row.is_empty() {
                self.out.push_str(&row.join("\t"));
                self.out.push('\n');
            }
        }
    }
}

/// Word's list numbering: numId -> level -> format ("decimal", "bullet", ...).
type Numbering = HashMap<String, HashMap<String, String>>;

fn read_numbering(
    archive: &mut Archive<'_>,
    budget: &mut Budget,
    deadline: &mut Deadline,
) -> Result<Numbering, String> {
    let mut abstract_levels: Numbering = HashMap::new();
    let mut num_to_abstract: HashMap<String, String> = HashMap::new();
    let (mut abstract_id, mut level, mut num_id) = (None, None, None);
    for_each_event(archive, "word/numbering.xml", budget, deadline, |event| {
        if let Event::Start(e) | Event::Empty(e) = event {
            match e.local_name().as_ref() {
                b"abstractNum" => abstract_id = attr(&e, b"abstractNumId"),
                b"lvl" => level = attr(&e, b"ilvl"),
                b"numFmt" => {
                    if let (Some(a), Some(l), Some(f)) = (&abstract_id, &level, attr(&e, b"val")) {
                        abstract_levels
                            .entry(a.clone())
                            .or_default()
                            .insert(l.clone(), f);
                    }
                }
                b"num" => num_id = attr(&e, b"numId"),
                b"abstractNumId" => {
                    if let (Some(n), Some(a)) = (&num_id, attr(&e, b"val")) {
                        num_to_abstract.insert(n.clone(), a);
                    }
                }
                _ => {}
            }
        }
        Ok(Flow::More)
    })?;
    Ok(num_to_abstract
        .into_iter()
        .filter_map(|(n, a)| abstract_levels.get(&a).map(|l| (n, l.clone())))
        .collect())
}

/// The state of the Word paragraph being read: its style and list membership.
#[derive(Default)]
struct WordParagraph {
    num_id: Option<String>,
    level: Option<String>,
    heading: usize,
}

impl WordParagraph {
    /// "# " for a heading, "3. " or "- " for a list item.
    fn prefix(
        self,
        numbering: &Numbering,
        counters: &mut HashMap<(String, String), usize>,
    ) -> String {
        let mut prefix = "#".repeat(self.heading);
        if self.heading > 0 {
            prefix.push(' ');
        }
        if let Some(id) = self.num_id.filter(|id| id != "0") {
            let level = self.level.unwrap_or_else(|| "0".into());
            let format = numbering
                .get(&id)
                .and_then(|l| l.get(&level))
                .map(String::as_str)
                .unwrap_or("decimal");
            if format == "bullet" || format == "none" {
                prefix.push_str("- ");
            } else {
                let n = counters.entry((id, level)).or_insert(0);
                *n += 1;
                prefix.push_str(&format!("{n}. "));
            }
        }
        prefix
    }
}

/// The text of a .docx.
pub fn docx_text(bytes: &[u8], limits: &Limits, deadline: &mut Deadline) -> Result<String, String> {
    let mut archive = open(bytes, limits)?;
    let mut budget = Budget::new(limits.max_zip_expanded_bytes);
    // Numbering is a nicety: a broken numbering.xml only loses the list numbers.
    let numbering = match read_numbering(&mut archive, &mut budget, deadline) {
        Ok(numbering) => numbering,
        Err(e) if e.contains("ZIP bomb") || e.contains("longer than") => return Err(e),
        Err(_) => Numbering::new(),
    };
    let mut counters = HashMap::new();
    let mut lines = Lines::new(limits);
    let mut in_text = false;
    let mut paragraph = WordParagraph::default();
    let found = for_each_event(
        &mut archive,
        "word/document.xml",
        &mut budget,
        deadline,
        |event| {
            match event {
                Event::Start(e) if e.local_name().as_ref() == b"t" => in_text = true,
                Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                    b"tab" => lines.text("\t"),
                    b"br" | b"cr" => lines.text("\n"),
                    b"noBreakHyphen" => lines.text("-"),
                    b"tbl" => lines.table_depth += 1,
                    b"tr" => lines.start_row(),
                    b"tc" => lines.start_cell(),
                    b"numId" => paragraph.num_id = attr(&e, b"val"),
                    b"ilvl" => paragraph.level = attr(&e, b"val"),
                    b"pStyle" => {
                        let style = attr(&e, b"val").unwrap_or_default().to_lowercase();
                        paragraph.heading = heading_level(&style);
                    }
                    _ => {}
                },
                Event::Text(t) if in_text => lines.text(&text_of(&t)?),
                Event::End(e) => match e.local_name().as_ref() {
                    b"t" => in_text = false,
                    b"p" => {
                        let prefix =
                            std::mem::take(&mut paragraph).prefix(&numbering, &mut counters);
                        lines.end_paragraph(&prefix);
                    }
                    b"tc" => lines.end_cell(1),
                    b"tr" => lines.end_row(),
                    b"tbl" => lines.table_depth = lines.table_depth.saturating_sub(1),
                    _ => {}
                },
                _ => {}
            }
            Ok(lines.flow())
        },
    )?;
    if !found {
        return Err("not a Word document: word/document.xml is missing".into());
    }
    Ok(lines.out)
}

/// "heading2", "rubrik2", "title": the level of a heading style, 0 for body text.
fn heading_level(style: &str) -> usize {
    if style == "title" || style == "rubrik" {
        return 1;
    }
    for prefix in ["heading", "rubrik"] {
        if let Some(rest) = style.strip_prefix(prefix) {
            return rest
                .trim()
                .parse::<usize>()
                .map(|n| n.clamp(1, 6))
                .unwrap_or(0);
        }
    }
    0
}

pub(super) fn number_attr(e: &BytesStart<'_>, local: &[u8]) -> Option<usize> {
    attr(e, local).and_then(|v| v.trim().parse().ok())
}

/// The text of an .odt.
pub fn odt_text(bytes: &[u8], limits: &Limits, deadline: &mut Deadline) -> Result<String, String> {
    let mut archive = open(bytes, limits)?;
    let mut budget = Budget::new(limits.max_zip_expanded_bytes);
    // Named list styles live in styles.xml; a broken one only loses the list numbers.
    let mut list_styles = ListStyles::default();
    match for_each_event(&mut archive, "styles.xml", &mut budget, deadline, |event| {
        list_styles.read(&event);
        Ok(Flow::More)
    }) {
        Err(e) if e.contains("ZIP bomb") || e.contains("longer than") => return Err(e),
        _ => {}
    }
    let mut lists = Lists::default();
    let mut lines = Lines::new(limits);
    // Text counts only inside paragraphs and headings; ODF collapses white space there.
    let mut in_paragraph = 0usize;
    let mut heading = 0;
    let mut repeat = 1;
    // The label ("3. ", "- ") the first paragraph of the current list item starts with.
    let mut item_label: Option<String> = None;
    let found = for_each_event(
        &mut archive,
        "content.xml",
        &mut budget,
        deadline,
        |event| {
            // content.xml's automatic styles come before the body.
            list_styles.read(&event);
            match event {
                Event::Start(e) => match e.local_name().as_ref() {
                    b"p" => in_paragraph += 1,
                    b"list" => lists.start_list(&e),
                    b"list-item" => item_label = Some(lists.start_item(&e, &list_styles)),
                    b"list-header" => item_label = None,
                    b"h" => {
                        in_paragraph += 1;
                        heading = number_attr(&e, b"outline-level").unwrap_or(1).clamp(1, 6);
                    }
                    b"table" => lines.table_depth += 1,
                    b"table-row" => lines.start_row(),
                    b"table-cell" => {
                        repeat = number_attr(&e, b"number-columns-repeated").unwrap_or(1);
                        lines.start_cell();
                    }
                    _ => {}
                },
                Event::Empty(e) => match e.local_name().as_ref() {
                    b"tab" => lines.text("\t"),
                    b"line-break" => lines.text("\n"),
                    b"s" => {
                        let n = number_attr(&e, b"c").unwrap_or(1);
                        lines.text(&" ".repeat(n.clamp(1, 100)));
                    }
                    b"table-cell" | b"covered-table-cell" => {
                        lines.start_cell();
                        lines.end_cell(number_attr(&e, b"number-columns-repeated").unwrap_or(1));
                    }
                    _ => {}
                },
                Event::Text(t) if in_paragraph > 0 => {
                    let text = text_of(&t)?;
                    let mut words = text.split_whitespace();
                    if text.starts_with(char::is_whitespace) && !lines.paragraph.is_empty() {
                        lines.text(" ");
                    }
                    if let Some(first) = words.next() {
                        lines.text(first);
                        for word in words {
                            lines.text(" ");
                            lines.text(word);
                        }
                        if text.ends_with(char::is_whitespace) {
                            lines.text(" ");
                        }
                    }
                }
                Event::End(e) => match e.local_name().as_ref() {
                    b"p" | b"h" => {
                        in_paragraph = in_paragraph.saturating_sub(1);
                        let label = item_label.take().unwrap_or_default();
                        let prefix = if heading > 0 {
                            format!("{} ", "#".repeat(heading))
                        } else {
                            label
                        };
                        heading = 0;
                        lines.end_paragraph(&prefix);
                    }
                    b"table-cell" => lines.end_cell(repeat),
                    b"table-row" => lines.end_row(),
                    b"table" => lines.table_depth = lines.table_depth.saturating_sub(1),
                    b"list" => lists.end_list(),
                    _ => {}
                },
                _ => {}
            }
            Ok(lines.flow())
        },
    )?;
    if !found {
        return Err("not an OpenDocument text: content.xml is missing".into());
    }
    Ok(lines.out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for (name, body) in entries {
                w.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                w.write_all(body.as_bytes()).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    #[test]
    fn docx_paragraphs_tables_headings_numbering() {
        let doc = format!(
            r#"<w:document {W}><w:body>
            <w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Protokoll</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Plats: </w:t></w:r><w:r><w:t>Rum &amp; 1</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>Anna Berg</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Ale</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Öppnande</w:t></w:r></w:p>
            <w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Budget</w:t><w:tab/><w:t>B</w:t></w:r></w:p>
            </w:body></w:document>"#
        );
        let numbering = format!(
            r#"<w:numbering {W}><w:abstractNum w:abstractNumId="7"><w:lvl w:ilvl="0"><w:numFmt w:val="decimal"/></w:lvl></w:abstractNum><w:num w:numId="1"><w:abstractNumId w:val="7"/></w:num></w:numbering>"#
        );
        let bytes = zip_of(&[
            ("word/document.xml", &doc),
            ("word/numbering.xml", &numbering),
        ]);
        let text = docx_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap();
        assert_eq!(
            text,
            "# Protokoll\nPlats: Rum & 1\nAnna Berg\tAle\n1. Öppnande\n2. Budget\tB\n"
        );
    }

    #[test]
    fn odt_paragraphs_tables_headings() {
        let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:text>
            <text:h text:outline-level="2">Dagordning</text:h><text:list><text:list-item><text:p>Val</text:p><text:p>av ordförande</text:p></text:list-item></text:list><text:p>Tid:<text:s/>13<text:tab/>x</text:p>
            <table:table><table:table-row><table:table-cell><text:p>1</text:p></table:table-cell><table:table-cell><text:p>Öppnande</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1000"/></table:table-row></table:table>
            </office:text></office:body></office:document-content>"#;
        let bytes = zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            ("content.xml", content),
        ]);
        let text = odt_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap();
        assert_eq!(
            text,
            "## Dagordning\n- Val\nav ordförande\nTid: 13\tx\n1\tÖppnande\n"
        );
    }

    #[test]
    fn odt_list_numbering_is_written_out() {
        let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"><office:automatic-styles>
            <text:list-style style:name="L1"><text:list-level-style-number text:level="1" style:num-suffix="." style:num-format="1"/><text:list-level-style-number text:level="2" style:num-suffix=")" style:num-format="1" text:display-levels="2"/></text:list-style>
            <text:list-style style:name="L2"><text:list-level-style-bullet text:level="1" text:bullet-char="•"/></text:list-style>
            </office:automatic-styles><office:body><office:text>
            <text:list text:style-name="L1"><text:list-item><text:p>Mötets öppnande</text:p></text:list-item><text:list-item><text:p>Val av justerare</text:p><text:list><text:list-item><text:p>Förslag</text:p></text:list-item><text:list-item><text:p>Beslut</text:p></text:list-item></text:list></text:list-item></text:list>
            <text:p>Mellan punkterna.</text:p>
            <text:list text:style-name="L1" text:continue-numbering="true"><text:list-item><text:p>Ekonomi</text:p><text:p>fortsatt text</text:p></text:list-item></text:list>
            <text:list text:style-name="L1"><text:list-item text:start-value="7"><text:p>Övrigt</text:p></text:list-item></text:list>
            <text:list text:style-name="L2"><text:list-item><text:p>punkt</text:p></text:list-item></text:list>
            <text:list text:style-name="Numbering_20_123"><text:list-item><text:p>Namngiven stil</text:p></text:list-item></text:list>
            </office:text></office:body></office:document-content>"#;
        let styles = r#"<office:document-styles xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"><office:styles><text:list-style style:name="Numbering_20_123"><text:list-level-style-number text:level="1" style:num-prefix="(" style:num-suffix=")" style:num-format="a" text:start-value="3"/></text:list-style></office:styles></office:document-styles>"#;
        let bytes = zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.text"),
            ("styles.xml", styles),
            ("content.xml", content),
        ]);
        let text = odt_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap();
        assert_eq!(
            text,
            "1. Mötets öppnande\n2. Val av justerare\n2.1) Förslag\n2.2) Beslut\nMellan punkterna.\n\
             3. Ekonomi\nfortsatt text\n7. Övrigt\n- punkt\n(c) Namngiven stil\n"
        );
    }

    #[test]
    fn broken_xml_and_missing_parts_are_refused() {
        let bytes = zip_of(&[("word/document.xml", "<w:document><w:p></w:r></w:document>")]);
        let err = docx_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("not well-formed XML"), "{err}");
        let bytes = zip_of(&[("content.xml", "<x/>")]);
        let err = docx_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("word/document.xml is missing"), "{err}");
        let truncated = &zip_of(&[("word/document.xml", "<x/>")])[..20];
        let err = docx_text(truncated, &Limits::default(), &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("damaged or truncated"), "{err}");
    }

    #[test]
    fn a_time_out_stops_reading() {
        let many = format!(
            "<w:document {W}><w:body>{}</w:body></w:document>",
            "<w:p/>".repeat(10_000)
        );
        let bytes = zip_of(&[("word/document.xml", &many)]);
        let mut late = Deadline::new(std::time::Duration::ZERO);
        let err = docx_text(&bytes, &Limits::default(), &mut late).unwrap_err();
        assert!(err.contains("longer than"), "{err}");
    }

    #[test]
    fn zip_bombs_and_entry_floods_are_refused() {
        let big = format!(
            "<w:document {W}><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>",
            "a".repeat(3_000_000)
        );
        let bytes = zip_of(&[("word/document.xml", &big)]);
        let limits = Limits {
            max_zip_expanded_bytes: 1_000_000,
            ..Limits::default()
        };
        assert!(
            docx_text(&bytes, &limits, &mut Deadline::unlimited())
                .unwrap_err()
                .contains("ZIP bomb")
        );
        let huge = format!(
            "<w:document {W}><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>",
            "a".repeat(MAX_RUN + 10)
        );
        let bytes = zip_of(&[("word/document.xml", &huge)]);
        let err = docx_text(&bytes, &Limits::default(), &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("single text"), "{err}");
        let names: Vec<(String, String)> =
            (0..30).map(|i| (format!("f{i}"), String::new())).collect();
        let refs: Vec<(&str, &str)> = names
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let mut entries = refs.clone();
        entries.push(("word/document.xml", "<x/>"));
        let bytes = zip_of(&entries);
        let limits = Limits {
            max_zip_entries: 10,
            ..Limits::default()
        };
        assert!(
            docx_text(&bytes, &limits, &mut Deadline::unlimited())
                .unwrap_err()
                .contains("entries")
        );
    }
}
