//! The text layer of a PDF, page by page (so the deadline and the text limit are checked between
//! pages, and the clock is also looked at while a page is read). Scans have no text layer;
//! encrypted PDFs are read only when they open without a password (many are merely "protected"
//! against editing). Compressed streams are measured before the PDF library inflates any of them,
//! since it inflates without limit.
//!
//! A PDF has no paragraphs or tables, only glyphs at positions, so the page is laid out again
//! from those positions (see [`lay_out`]): glyphs on one baseline make a line; a wide horizontal
//! gap splits a line into cells; lines that wrap continue the paragraph or cell above them; cells
//! that start on the same baseline make a table row. The text then has the shape the Word and
//! OpenDocument readers give: one line per paragraph, table rows as cells joined by TAB.

use std::collections::BTreeMap;
use std::io::{self, Read};

use flate2::read::ZlibDecoder;
use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{Deadline, Limits};

const ENCRYPTED: &str = "encrypted PDF: it needs a password to open; please send it without one";

/// The PDF's text, or why there is none.
pub fn text(bytes: &[u8], limits: &Limits, deadline: &mut Deadline) -> Result<String, String> {
    check_expansion(bytes, limits.max_pdf_expanded_bytes, deadline)?;
    let document = lopdf::Document::load_mem(bytes).map_err(|e| {
        if matches!(e, lopdf::Error::Decryption(_)) {
            ENCRYPTED.to_string()
        } else {
            format!("not a readable PDF ({e})")
        }
    })?;
    // Loading decrypts with the empty password when that works; still encrypted means locked.
    if document.is_encrypted() {
        return Err(ENCRYPTED.into());
    }
    let max_bytes = limits.max_text_chars.saturating_mul(4);
    let mut glyphs_left = limits.max_text_chars;
    let mut edges: [Edges; 4] = Default::default();
    let mut tail = None;
    let mut out = String::new();
    for page in document.get_pages().into_keys() {
        deadline.check()?;
        let mut collector = Collector::new(deadline, glyphs_left);
        let read = pdf_extract::output_doc_page(&document, &mut collector, page);
        if let Some(reason) = collector.expired.take() {
            return Err(reason);
        }
        read.map_err(|e| format!("the PDF's text could not be read ({e})"))?;
        let page = collector.page;
        glyphs_left = glyphs_left.saturating_sub(page.glyphs.len());
        lay_out(&page, &mut edges, &mut tail, deadline, &mut out)?;
        if out.len() > max_bytes || glyphs_left == 0 {
            break;
        }
    }
    let out = out.trim_start();
    if out.is_empty() {
        return Err("PDF has no text layer (scanned?); please send the original document".into());
    }
    Ok(out.to_string())
}

/// One glyph drawn on the page: where its baseline starts and ends (PDF user space, y up), its
/// size, and its text (a range of [`Page::chars`]). `blank` glyphs (spaces) are not laid out,
/// but they show where words end.
#[derive(Clone, Copy)]
struct Glyph {
    x: f32,
    y: f32,
    end: f32,
    size: f32,
    start: u32,
    len: u32,
    blank: bool,
    /// Quarter turns of the text's direction (0 for upright text); `x` and `y` are in the
    /// text's own frame, turned back upright.
    turn: u8,
}

#[derive(Default)]
struct Page {
    glyphs: Vec<Glyph>,
    chars: String,
}

impl Page {
    fn text(&self, g: &Glyph) -> &str {
        let start = g.start as usize;
        self.chars.get(start..start + g.len as usize).unwrap_or("")
    }
}

/// Collects a page's glyphs from the PDF library, at most `room` of them, and stops the page
/// when the deadline passes.
struct Collector<'a> {
    page: Page,
    deadline: &'a mut Deadline,
    expired: Option<String>,
    room: usize,
}

impl<'a> Collector<'a> {
    fn new(deadline: &'a mut Deadline, room: usize) -> Collector<'a> {
        Collector {
            page: Page::default(),
            deadline,
            expired: None,
            room,
        }
    }
}

impl OutputDev for Collector<'_> {
    fn begin_page(
        &mut self,
        _page_num: u32,
        _media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        if let Err(reason) = self.deadline.tick() {
            self.expired = Some(reason);
            return Err(OutputError::IoError(io::Error::other("out of time")));
        }
        if self.page.glyphs.len() >= self.room || char.is_empty() {
            return Ok(());
        }
        // The glyph's origin, its height (the font size through the text matrix) and advance.
        let size = font_size.abs() * trm.m21.hypot(trm.m22);
        let advance = width.abs() * font_size.abs() * trm.m11.hypot(trm.m12);
        // Rotated text is laid out in its own frame, turned upright.
        let angle = trm.m12.atan2(trm.m11);
        let turn = ((angle / std::f64::consts::FRAC_PI_2).round() as i64).rem_euclid(4) as u8;
        let (x, y) = match turn {
            0 => (trm.m31, trm.m32),
            1 => (trm.m32, -trm.m31),
            2 => (-trm.m31, -trm.m32),
            _ => (-trm.m32, trm.m31),
        };
        let (x, y) = (x as f32, y as f32);
        let (size, advance) = (size as f32, advance as f32);
        if ![x, y, size, advance].iter().all(|v| v.is_finite()) {
            return Ok(());
        }
        let size = size.clamp(1.0, 1000.0);
        let start = self.page.chars.len();
        let mut blank = true;
        for c in char.chars() {
            if c.is_whitespace() {
                self.page.chars.push(' ');
            } else if !c.is_control() {
                self.page.chars.push(c);
                blank = false;
            }
        }
        let len = self.page.chars.len() - start;
        if len == 0 || start > u32::MAX as usize / 2 {
            self.page.chars.truncate(start);
            return Ok(());
        }
        self.page.glyphs.push(Glyph {
            x,
            y,
            end: x + advance.min(100.0 * size),
            size,
            start: start as u32,
            len: len as u32,
            blank,
            turn,
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// Glyphs whose baselines are within this many font sizes share a line.
const SAME_LINE: f32 = 0.35;
/// A gap wider than this many font sizes is a space between words.
const SPACE_GAP: f32 = 0.12;
/// A gap at least this wide (in font sizes) always separates two cells.
const CELL_GAP: f32 = 1.5;
/// A gap at least this wide separates two cells when what follows starts where cells start
/// after a wide gap on two other lines of the page (a column).
const NARROW_CELL_GAP: f32 = 0.8;
/// How far (points) starts may differ and still be one column.
const ALIGNED: f32 = 2.0;
/// A line continues the paragraph or cell above it when its baseline is at most this many font
/// sizes lower (one line height; paragraph and table-row spacing make the step larger), or
/// when the step is the page's usual one between wrapped lines of a paragraph (see
/// [`wrap_step`]), at most [`MAX_WRAP_STEP`].
const WRAP_STEP: f32 = 1.25;
const MAX_WRAP_STEP: f32 = 1.45;
/// Rows further apart than this many font sizes are separate paragraphs (a blank line between
/// them); table rows and list items are closer.
const PARAGRAPH_STEP: f32 = 1.7;

/// How a piece of text ends, for joining it to the next line of its paragraph.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Plain,
    /// "e-" that wrapped inside a word ("e-samordnarens"): joined without a space.
    Hyphen,
    /// A soft hyphen: dropped, and joined without a space.
    SoftHyphen,
    /// A dot leader and a page number ("Justering ........ 3"): a line of a table of contents,
    /// which fills the line without wrapping.
    Leader,
}

/// A line's run of glyphs between wide gaps: one cell of a table row, or a whole line.
struct Segment {
    x0: f32,
    x1: f32,
    y: f32,
    size: f32,
    text: String,
    end: End,
    /// Width of the first word: would it have fitted at the end of the line above?
    first_word: f32,
}

/// A paragraph or a table cell: segments of consecutive lines that wrap into each other.
struct Block {
    x0: f32,
    x1: f32,
    first_y: f32,
    /// The last line's baseline, start, end and size.
    last_y: f32,
    last_x0: f32,
    last_x1: f32,
    last_size: f32,
    /// Where the next cell of the row starts, when there is one: the right edge of this cell.
    next_cell: Option<f32>,
    /// Width of the first word (see [`Segment::first_word`]).
    first_word: f32,
    text: String,
    end: End,
}

/// Where lines that start at an x end at most (rounded points), over the pages read so far:
/// the right edge of a column or of the text area, for telling a wrapped line from a short one.
#[derive(Default)]
struct Edges(BTreeMap<i32, f32>);

impl Edges {
    fn add(&mut self, x0: f32, x1: f32) {
        let right = self.0.entry(x0.round() as i32).or_insert(x1);
        *right = right.max(x1);
    }

    fn right(&self, x0: f32) -> f32 {
        let x = x0.round() as i32;
        let reach = ALIGNED.ceil() as i32 + 1;
        self.0
            .range(x.saturating_sub(reach)..=x.saturating_add(reach))
            .map(|(_, r)| *r)
            .fold(x0, f32::max)
    }
}

/// Lays a page's glyphs out as lines of text, appended to `out`. `tail` is the last row of the
/// pages before, so that a paragraph or table cell that goes on over a page break stays one.
fn lay_out(
    page: &Page,
    edges: &mut [Edges; 4],
    tail: &mut Option<Tail>,
    deadline: &mut Deadline,
    out: &mut String,
) -> Result<(), String> {
    for turn in 0..4u8 {
        if page.glyphs.iter().any(|g| g.turn == turn) {
            let edges = &mut edges[turn as usize];
            lay_out_text(page, turn, edges, tail, deadline, out)?;
        }
    }
    Ok(())
}

/// [`lay_out`] for the text in one direction.
fn lay_out_text(
    page: &Page,
    turn: u8,
    edges: &mut Edges,
    tail: &mut Option<Tail>,
    deadline: &mut Deadline,
    out: &mut String,
) -> Result<(), String> {
    let lines = baselines(page, turn, deadline)?;
    let segments = split_cells(page, &lines, deadline)?;
    for line in &segments {
        for s in line {
            edges.add(s.x0, s.x1);
        }
    }
    let blocks = join_wraps(segments, edges, deadline)?;
    let mut rows = rows(blocks);
    if rows.is_empty() {
        return Ok(());
    }
    if let Some(last) = tail.as_mut() {
        let goes_on = (rows[0].len() == 1)
            .then(|| last.continued_by(&rows[0][0], edges))
            .flatten();
        if let Some(at) = goes_on {
            let first = rows.remove(0);
            last.append(at, first, out);
        } else if last.row.len() < 2 || rows[0].len() < 2 {
            // A new paragraph; only a table's rows go on without a blank line.
            out.push('\n');
        }
    }
    if let Some(last) = write_rows(rows, out) {
        *tail = Some(last);
    }
    Ok(())
}

/// The last row written, where its line starts in the text, and its table's columns.
struct Tail {
    row: Vec<Block>,
    columns: Vec<f32>,
    line_start: usize,
}

impl Tail {
    /// Which cell of the row `b`, the first paragraph of the next page, continues, if any.
    fn continued_by(&self, b: &Block, edges: &Edges) -> Option<usize> {
        let em = b.last_size;
        self.row.iter().position(|t| {
            t.end != End::Leader
                && (b.x0 - t.last_x0).abs() <= 3.0 * em
                && (b.last_size - t.last_size).abs() <= 0.2 * em
                && fills_line(t, b.first_word, em, edges)
                && (!t.text.trim_end().ends_with(['.', ':', '!', '?'])
                    || b.text.starts_with(char::is_lowercase))
        })
    }

    /// Appends `row` (one block) to the cell `at` it continues, and writes the row again.
    fn append(&mut self, at: usize, row: Vec<Block>, out: &mut String) {
        let (Some(cell), Some(b)) = (self.row.get_mut(at), row.into_iter().next()) else {
            return;
        };
        join_line(&mut cell.text, cell.end, &b.text);
        cell.end = b.end;
        cell.last_y = b.last_y;
        cell.last_x0 = b.last_x0;
        cell.last_x1 = b.last_x1;
        cell.last_size = b.last_size;
        out.truncate(self.line_start);
        write_row(&self.row, &self.columns, out);
    }
}

/// Appends the next line of a paragraph after one that ends as `end` says.
fn join_line(text: &mut String, end: End, next: &str) {
    match end {
        End::Plain | End::Leader => text.push(' '),
        End::Hyphen => {}
        End::SoftHyphen => {
            text.pop();
        }
    }
    text.push_str(next);
}

fn same_row(a: &Block, b: &Block) -> bool {
    (a.first_y - b.first_y).abs() <= SAME_LINE * a.last_size.max(b.last_size)
}

/// The page's glyphs grouped into lines, top to bottom, each left to right.
fn baselines(page: &Page, turn: u8, deadline: &mut Deadline) -> Result<Vec<Vec<Glyph>>, String> {
    let mut glyphs: Vec<Glyph> = page
        .glyphs
        .iter()
        .filter(|g| g.turn == turn)
        .copied()
        .collect();
    glyphs.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x.total_cmp(&b.x)));
    let mut lines: Vec<Vec<Glyph>> = Vec::new();
    let mut top = f32::INFINITY;
    for g in glyphs {
        deadline.tick()?;
        match lines.last_mut() {
            Some(line) if top - g.y <= SAME_LINE * g.size.max(line[0].size) => line.push(g),
            _ => {
                top = g.y;
                lines.push(vec![g]);
            }
        }
    }
    for line in &mut lines {
        line.sort_by(|a, b| a.x.total_cmp(&b.x));
        // Text drawn twice, a little offset, to look bold.
        line.dedup_by(|b, a| {
            (b.x - a.x).abs() < 0.1 * a.size
                && (b.y - a.y).abs() < 0.1 * a.size
                && page.text(a) == page.text(b)
        });
    }
    Ok(lines)
}

/// Each line cut into segments at wide gaps.
fn split_cells(
    page: &Page,
    lines: &[Vec<Glyph>],
    deadline: &mut Deadline,
) -> Result<Vec<Vec<Segment>>, String> {
    // Where cells start after a wide gap: the columns, for judging narrower gaps.
    let mut columns: Vec<f32> = Vec::new();
    for line in lines {
        let mut last: Option<&Glyph> = None;
        for g in line.iter().filter(|g| !g.blank) {
            if let Some(p) = last
                && g.x - p.end >= CELL_GAP * g.size.max(p.size)
            {
                columns.push(g.x);
            }
            last = Some(g);
        }
    }
    columns.sort_by(f32::total_cmp);
    let in_column = |x: f32| {
        let from = columns.partition_point(|c| *c < x - ALIGNED);
        let to = columns.partition_point(|c| *c <= x + ALIGNED);
        to - from >= 2
    };
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut segments: Vec<Segment> = Vec::new();
        let mut current: Option<Segment> = None;
        let mut last: Option<&Glyph> = None;
        let mut space = false;
        let mut in_first_word = true;
        for g in line {
            deadline.tick()?;
            if g.blank {
                space = true;
                continue;
            }
            let text = page.text(g);
            let gap = last.map(|p| (g.x - p.end, g.size.max(p.size)));
            let new_cell = gap.is_some_and(|(gap, em)| {
                gap >= CELL_GAP * em || (gap >= NARROW_CELL_GAP * em && in_column(g.x))
            });
            match &mut current {
                Some(s) if !new_cell => {
                    if space || gap.is_some_and(|(gap, em)| gap > SPACE_GAP * em) {
                        s.text.push(' ');
                        in_first_word = false;
                    }
                    s.text.push_str(text);
                    s.x1 = s.x1.max(g.end);
                    s.size = s.size.max(g.size);
                    if in_first_word {
                        s.first_word = g.end - s.x0;
                    }
                }
                _ => {
                    segments.extend(current.take());
                    in_first_word = true;
                    current = Some(Segment {
                        x0: g.x,
                        x1: g.end,
                        y: g.y,
                        size: g.size,
                        text: text.to_string(),
                        end: End::Plain,
                        first_word: g.end - g.x,
                    });
                }
            }
            space = false;
            last = Some(g);
        }
        segments.extend(current);
        for s in &mut segments {
            s.end = ending(&s.text);
        }
        if let Some(s) = segments.last_mut()
            && space
        {
            // A space drawn after the last glyph: the line did not break inside a word.
            s.end = End::Plain;
        }
        out.push(segments);
    }
    Ok(out)
}

fn ending(text: &str) -> End {
    let before_number = text
        .trim_end()
        .trim_end_matches(char::is_alphanumeric)
        .trim_end();
    let dots = before_number
        .chars()
        .rev()
        .filter(|c| *c != ' ')
        .take_while(|c| *c == '.' || *c == '…')
        .count();
    if dots >= 3 {
        return End::Leader;
    }
    let mut rev = text.chars().rev();
    match (rev.next(), rev.next()) {
        (Some('\u{ad}'), _) => End::SoftHyphen,
        (Some('-'), Some(c)) if c.is_alphabetic() => End::Hyphen,
        _ => End::Plain,
    }
}

/// Lines with more cells than this are not matched with the line above (each cell is compared
/// with each of the line above).
const MAX_MATCHED: usize = 24;

/// Segments that continue the paragraph or cell of the line above joined to it; the blocks in
/// the order of their first lines.
fn join_wraps(
    lines: Vec<Vec<Segment>>,
    edges: &Edges,
    deadline: &mut Deadline,
) -> Result<Vec<Block>, String> {
    let step = wrap_step(&lines, edges);
    let mut blocks: Vec<Block> = Vec::new();
    // The blocks the previous line ended (only they can continue).
    let mut open: Vec<usize> = Vec::new();
    for line in lines {
        deadline.check()?;
        // Too many cells to compare (not a text page): every segment is its own block.
        let matchable = line.len() <= MAX_MATCHED && open.len() <= MAX_MATCHED;
        let mut chosen: Vec<Option<usize>> = line
            .iter()
            .map(|s| {
                if !matchable {
                    return None;
                }
                open.iter()
                    .copied()
                    .filter(|&b| continues(&blocks[b], s, step, edges))
                    .min_by(|&a, &b| {
                        (blocks[a].x0 - s.x0)
                            .abs()
                            .total_cmp(&(blocks[b].x0 - s.x0).abs())
                    })
            })
            .collect();
        // One segment per block: the nearest keeps it.
        let distance = |i: usize, b: usize| (blocks[b].x0 - line[i].x0).abs();
        for i in 0..chosen.len() {
            let Some(b) = chosen[i] else { continue };
            let nearest = (0..chosen.len())
                .filter(|&j| chosen[j] == Some(b))
                .min_by(|&x, &y| distance(x, b).total_cmp(&distance(y, b)));
            if nearest != Some(i) {
                chosen[i] = None;
            }
        }
        // A new cell in the first column of a table row starts the next row: the other cells
        // of the line do not continue the row above either.
        let new: Vec<usize> = (0..chosen.len()).filter(|&i| chosen[i].is_none()).collect();
        for to in chosen.iter_mut() {
            if let Some(b) = *to
                && new.iter().any(|&i| starts_row_of(&blocks, b, &line[i]))
            {
                *to = None;
            }
        }
        open.clear();
        let starts: Vec<f32> = line.iter().map(|s| s.x0).collect();
        for (i, (s, to)) in line.into_iter().zip(chosen).enumerate() {
            match to {
                Some(b) => {
                    let block = &mut blocks[b];
                    join_line(&mut block.text, block.end, &s.text);
                    block.end = s.end;
                    block.x1 = block.x1.max(s.x1);
                    block.last_y = s.y;
                    block.last_x0 = s.x0;
                    block.last_x1 = s.x1;
                    block.last_size = s.size;
                    open.push(b);
                }
                None => {
                    open.push(blocks.len());
                    blocks.push(Block {
                        x0: s.x0,
                        x1: s.x1,
                        first_y: s.y,
                        last_y: s.y,
                        last_x0: s.x0,
                        last_x1: s.x1,
                        last_size: s.size,
                        next_cell: starts.get(i + 1).copied(),
                        first_word: s.first_word,
                        text: s.text,
                        end: s.end,
                    });
                }
            }
        }
    }
    Ok(blocks)
}

/// The step between the baselines of a paragraph's lines on this page, in font sizes: the
/// smallest that at least three pairs of one-cell lines share where the upper line is full.
/// Line spacing differs between producers (1.16 here, 1.2 in XSL-FO, 1.32 in Word's default).
fn wrap_step(lines: &[Vec<Segment>], edges: &Edges) -> f32 {
    let mut steps: Vec<f32> = lines
        .windows(2)
        .filter_map(|pair| match (&pair[0][..], &pair[1][..]) {
            ([a], [b]) => {
                let em = a.size.max(b.size);
                let step = (a.y - b.y) / em;
                let upper = Block {
                    x0: a.x0,
                    x1: a.x1,
                    first_y: a.y,
                    last_y: a.y,
                    last_x0: a.x0,
                    last_x1: a.x1,
                    last_size: a.size,
                    next_cell: None,
                    first_word: a.first_word,
                    text: String::new(),
                    end: a.end,
                };
                ((a.size - b.size).abs() <= 0.1 * em
                    && (a.x0 - b.x0).abs() <= 3.0 * em
                    && (1.0..=MAX_WRAP_STEP).contains(&step)
                    && fills_line(&upper, b.first_word, em, edges))
                .then_some(step)
            }
            _ => None,
        })
        .collect();
    steps.sort_by(f32::total_cmp);
    let usual = steps.windows(3).find(|w| w[2] - w[0] <= 0.02).map(|w| w[2]);
    usual.map_or(WRAP_STEP, |s| (s + 0.03).clamp(WRAP_STEP, MAX_WRAP_STEP))
}

/// Whether segment `s` is the next line of block `b`: one line height below it, starting near
/// its left edge, and the block's last line ended too near its column's right edge for the
/// first word of `s` to have fitted there.
fn continues(b: &Block, s: &Segment, wrap_step: f32, edges: &Edges) -> bool {
    let em = b.last_size.max(s.size);
    let step = b.last_y - s.y;
    if b.end == End::Leader {
        return false;
    }
    if !(step > 0.0 && step <= wrap_step * em) {
        return false;
    }
    if (s.x0 - b.x0).abs() > 3.0 * em || s.x0 >= b.x1 {
        return false;
    }
    fills_line(b, s.first_word, em, edges)
}

/// Whether a word `word` wide would not have fitted at the end of the block's last line: the
/// line then wrapped, rather than ended.
fn fills_line(b: &Block, word: f32, em: f32, edges: &Edges) -> bool {
    let right = b.next_cell.unwrap_or_else(|| edges.right(b.last_x0));
    b.last_x1 + 0.3 * em + word > right - 0.5 * em
}

/// Whether `s` (a new block) starts where the first cell of the row that block `b` belongs to
/// starts, on a line of that row's column layout.
fn starts_row_of(blocks: &[Block], b: usize, s: &Segment) -> bool {
    let row_y = blocks[b].first_y;
    let tolerance = SAME_LINE * blocks[b].last_size;
    let first = blocks[..=b]
        .iter()
        .rev()
        .take(MAX_MATCHED)
        .take_while(|o| (o.first_y - row_y).abs() <= tolerance)
        .last();
    first
        .is_some_and(|first| !std::ptr::eq(first, &blocks[b]) && (first.x0 - s.x0).abs() <= ALIGNED)
}

/// Blocks that start on one baseline: a table row (or a paragraph, a row of one).
fn rows(blocks: Vec<Block>) -> Vec<Vec<Block>> {
    let mut rows: Vec<Vec<Block>> = Vec::new();
    for b in blocks {
        match rows.last_mut() {
            Some(row) if same_row(&row[0], &b) => row.push(b),
            _ => rows.push(vec![b]),
        }
    }
    rows
}

/// The rows as lines of text, table rows as cells joined by TAB; in a run of table rows a cell
/// goes to its column, so an empty cell stays. A blank line goes where the space between two
/// rows is wider than a table's or a list's. Returns the last row.
fn write_rows(rows: Vec<Vec<Block>>, out: &mut String) -> Option<Tail> {
    let mut last: Option<(usize, Vec<f32>)> = None;
    let mut i = 0;
    while i < rows.len() {
        let end = if rows[i].len() < 2 {
            i + 1
        } else {
            rows[i..]
                .iter()
                .position(|r| r.len() < 2)
                .map_or(rows.len(), |n| i + n)
        };
        let columns = columns(&rows[i..end]);
        for (k, row) in rows.iter().enumerate().take(end).skip(i) {
            if let Some(above) = k.checked_sub(1).and_then(|k| rows.get(k)) {
                let bottom = above.iter().map(|b| b.last_y).fold(f32::INFINITY, f32::min);
                let em = above[0].last_size.max(row[0].last_size);
                if bottom - row[0].first_y > PARAGRAPH_STEP * em {
                    out.push('\n');
                }
            }
            last = Some((out.len(), columns.clone()));
            write_row(row, &columns, out);
        }
        i = end;
    }
    let (line_start, columns) = last?;
    Some(Tail {
        row: rows.into_iter().last()?,
        columns,
        line_start,
    })
}

fn write_row(row: &[Block], columns: &[f32], out: &mut String) {
    let mut cells: Vec<String> = Vec::new();
    for block in row {
        let column = columns.partition_point(|c| *c <= block.x0 + ALIGNED);
        while cells.len() + 1 < column {
            cells.push(String::new());
        }
        cells.push(cell_text(block));
    }
    out.push_str(&cells.join("\t"));
    out.push('\n');
}

/// The starts of a table's columns: cell starts that at least two rows share (every start in
/// a table of one row).
fn columns(table: &[Vec<Block>]) -> Vec<f32> {
    if table.iter().all(|r| r.len() < 2) {
        return Vec::new();
    }
    let mut starts: Vec<f32> = table
        .iter()
        .flat_map(|row| row.iter().map(|b| b.x0))
        .collect();
    starts.sort_by(f32::total_cmp);
    let mut columns = Vec::new();
    let mut i = 0;
    while i < starts.len() {
        let n = starts[i..]
            .iter()
            .take_while(|x| **x <= starts[i] + ALIGNED)
            .count();
        if n >= 2 || table.len() == 1 {
            columns.push(starts[i]);
        }
        i += n;
    }
    columns
}

/// A block's text for a line: bullets written as "- ", as the Word reader writes them.
fn cell_text(block: &Block) -> String {
    let text = block.text.trim();
    let mut chars = text.chars();
    match chars.next() {
        Some('•' | '◦' | '▪' | '●' | '○' | '■' | '□' | '‣' | '⁃' | '\u{f0b7}' | '\u{f0a7}') =>
        {
            format!("- {}", chars.as_str().trim_start())
        }
        _ => text.to_string(),
    }
    .replace('\u{ad}', "")
}

/// Inflates every Flate stream that is not an image into nothing, counting, and refuses the PDF
/// when the total passes `limit`. A plain byte search for "stream": no PDF parsing, so it runs
/// before the library that has no limits.
fn check_expansion(bytes: &[u8], limit: u64, deadline: &mut Deadline) -> Result<(), String> {
    let mut total = 0u64;
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"stream") {
        let start = from + at;
        from = start + b"stream".len();
        if bytes[..start].ends_with(b"end") || is_image(&bytes[..start]) {
            continue;
        }
        let rest = &bytes[from..];
        let Some(data) = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
        else {
            continue;
        };
        deadline.check()?;
        total += inflated_len(data, limit - total + 1);
        if total > limit {
            return Err(format!(
                "PDF expands to more than {} MB when decompressed (a decompression bomb?)",
                limit.div_ceil(1024 * 1024)
            ));
        }
    }
    Ok(())
}

/// Whether the stream dictionary just before this point says /Subtype /Image (images are never
/// inflated for text).
fn is_image(before: &[u8]) -> bool {
    let window = &before[before.len().saturating_sub(1024)..];
    let dict = match rfind(window, b"obj") {
        Some(at) => &window[at..],
        None => window,
    };
    find(dict, b"/Image").is_some()
}

/// How many bytes a zlib stream inflates to, counting at most `cap`; 0 when it is not zlib.
fn inflated_len(data: &[u8], cap: u64) -> u64 {
    let mut decoder = ZlibDecoder::new(data).take(cap);
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    while let Ok(read) = decoder.read(&mut buf) {
        if read == 0 {
            break;
        }
        n += read as u64;
    }
    n
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::ZlibEncoder};

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn pdf_with_stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut pdf = format!("%PDF-1.4\n1 0 obj\n<< {dict} >>\nstream\n").into_bytes();
        pdf.extend(zlib(data));
        pdf.extend(b"\nendstream\nendobj\n%%EOF\n");
        pdf
    }

    #[test]
    fn decompression_bombs_are_measured_before_parsing() {
        let zeros = vec![0u8; 3_000_000];
        let limits = Limits {
            max_pdf_expanded_bytes: 1_000_000,
            ..Limits::default()
        };
        let bomb = pdf_with_stream("/Filter /FlateDecode", &zeros);
        let err = text(&bomb, &limits, &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("decompression bomb"), "{err}");
        // An image is never inflated for text, so it is not counted.
        let image = pdf_with_stream("/Subtype /Image /Filter /FlateDecode", &zeros);
        assert!(check_expansion(&image, 1_000_000, &mut Deadline::unlimited()).is_ok());
        let small = pdf_with_stream("/Filter /FlateDecode", &zeros[..10_000]);
        assert!(check_expansion(&small, 1_000_000, &mut Deadline::unlimited()).is_ok());
    }

    #[test]
    fn garbage_after_the_magic_is_refused() {
        let err = text(
            b"%PDF-1.7\n\x00\x01garbage",
            &Limits::default(),
            &mut Deadline::unlimited(),
        );
        assert!(err.unwrap_err().contains("not a readable PDF"));
    }

    /// A one-page PDF with Helvetica and the given page content, with a correct xref table.
    fn pdf(content: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_string(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        ];
        let mut out = String::from("%PDF-1.4\n");
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
        }
        let xref = out.len();
        out.push_str("xref\n0 6\n0000000000 65535 f \n");
        for offset in offsets {
            out.push_str(&format!("{offset:010} 00000 n \n"));
        }
        out.push_str(&format!(
            "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        out.into_bytes()
    }

    /// Text objects at positions: (x, y, text), Helvetica 12.
    fn placed(texts: &[(f32, f32, &str)]) -> String {
        let shown: Vec<String> = texts
            .iter()
            .map(|(x, y, t)| format!("1 0 0 1 {x} {y} Tm ({t}) Tj"))
            .collect();
        let content = format!("BT /F1 12 Tf {} ET", shown.join(" "));
        text(
            &pdf(&content),
            &Limits::default(),
            &mut Deadline::unlimited(),
        )
        .unwrap()
    }

    #[test]
    fn table_rows_become_tab_separated_lines_with_wrapped_cells_joined() {
        let got = placed(&[
            (72.0, 700.0, "Deltagare:"),
            (250.0, 700.0, "Anna Berg, Ale; Bo Ek, Lerum; Eva"),
            (250.0, 686.0, "Holm, Boras"),
            (72.0, 668.0, "Plats:"),
            (250.0, 668.0, "Rum 1"),
        ]);
        assert_eq!(
            got,
            "Deltagare:\tAnna Berg, Ale; Bo Ek, Lerum; Eva Holm, Boras\nPlats:\tRum 1\n"
        );
    }

    #[test]
    fn rows_without_spacing_stay_rows() {
        let got = placed(&[
            (72.0, 700.0, "Namn"),
            (250.0, 700.0, "Organisation"),
            (72.0, 686.0, "Anna Berg"),
            (250.0, 686.0, "Ale kommun"),
            (72.0, 672.0, "Bo Ek"),
            (250.0, 672.0, "Lerum"),
            (400.0, 672.0, "extra"),
        ]);
        assert_eq!(
            got,
            "Namn\tOrganisation\nAnna Berg\tAle kommun\nBo Ek\tLerum\textra\n"
        );
    }

    #[test]
    fn wrapped_lines_join_and_paragraphs_are_apart() {
        let got = placed(&[
            (72.0, 700.0, "The council read the draft of the e-"),
            (72.0, 686.0, "minutes of May."),
            (72.0, 650.0, "Next meeting:"),
            (72.0, 636.0, "June 3"),
        ]);
        // "June 3" would have fitted after "Next meeting:": a line of its own.
        assert_eq!(
            got,
            "The council read the draft of the e-minutes of May.\n\nNext meeting:\nJune 3\n"
        );
    }

    #[test]
    fn turned_text_is_read_in_its_own_direction() {
        let content = "BT /F1 12 Tf 0 1 -1 0 300 100 Tm (Dagordning) Tj ET";
        let got = text(
            &pdf(content),
            &Limits::default(),
            &mut Deadline::unlimited(),
        );
        assert_eq!(got.unwrap(), "Dagordning\n");
    }

    #[test]
    fn the_text_layer_is_read_and_a_scan_is_refused() {
        let limits = Limits::default();
        let with_text = pdf("BT /F1 12 Tf 72 720 Td (Dagordning) Tj 0 -20 Td (1. Val) Tj ET");
        let text = text(&with_text, &limits, &mut Deadline::unlimited()).unwrap();
        assert!(text.starts_with("Dagordning"), "{text:?}");
        assert!(text.contains("1. Val"), "{text:?}");
        let scan = pdf("0 0 1 rg 72 72 200 300 re f");
        let err = super::text(&scan, &limits, &mut Deadline::unlimited()).unwrap_err();
        assert!(err.starts_with("PDF has no text layer"), "{err}");
    }
}
