//! Labelled samples from CSV: one sample per row, one column of class labels, every other
//! column a feature.
//!
//! Records are split by the `csv` crate (quotes, `\r\n`, blank lines skipped, the line each
//! record starts on); every cell is then parsed here, so that each error names the line and
//! column. See [`CsvOptions`] for the format and [`DataError`] for the errors.

use std::path::Path;

use ::csv::{ByteRecord, ReaderBuilder, Trim};

use crate::{DataError, Dataset};

/// Where the class labels are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// The column at this index, 0-based (errors show columns 1-based, as an editor does).
    Index(usize),
    /// The column with this name in the header (needs [`CsvOptions::header`]).
    Name(String),
    /// The first column.
    First,
    /// The last column (the default).
    Last,
}

/// How [`load_csv`] and [`parse_csv`] read a file.
///
/// Every row holds the same number of cells: one label (a non-negative integer, the class
/// index) and the features (decimal numbers as Rust's `f32::from_str` reads them: `3`,
/// `-0.5`, `1e-3`; NaN and infinities are refused). Cells may be quoted and surrounded by
/// spaces; blank lines are skipped.
///
/// ```
/// use bn_train::csv::{CsvOptions, LabelColumn};
/// let opts = CsvOptions::default().header(true).label(LabelColumn::Name("digit".into())).width(784);
/// assert_eq!(opts.expected_width, Some(784));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first row names the columns (and is not a sample). Default: `false`.
    pub has_header: bool,
    /// The label column. Default: [`LabelColumn::Last`].
    pub label_column: LabelColumn,
    /// The byte between cells. Default: `b','`.
    pub delimiter: u8,
    /// The number of features a sample must have (the network's input width), checked on
    /// the first row. Default: `None` (the first row decides).
    pub expected_width: Option<usize>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { has_header: false, label_column: LabelColumn::Last, delimiter: b',', expected_width: None }
    }
}

impl CsvOptions {
    /// With or without a header row.
    pub fn header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// With this label column.
    pub fn label(mut self, label: LabelColumn) -> Self {
        self.label_column = label;
        self
    }

    /// With this delimiter (`b';'`, `b'\t'`, …).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Samples must have `width` features: "line 57: 783 values, the network takes 784".
    pub fn width(mut self, width: usize) -> Self {
        self.expected_width = Some(width);
        self
    }

    /// Samples must have the flat width of the network input `I` (e.g. `Mlp::Input`, or
    /// `<Net as bn_core::Network>::Input`).
    pub fn for_input<I: bn_core::generic_array::ArrayLength>(self) -> Self {
        self.width(I::USIZE)
    }
}

/// Labelled samples from the CSV file at `path` (read whole; not decompressed).
///
/// # Errors
/// A [`DataError`] naming the file: [`Io`](DataError::Io), and those of [`parse_csv`].
pub fn load_csv(path: &Path, options: &CsvOptions) -> Result<Dataset, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { file: path.to_owned(), source })?;
    parse_csv_named(&bytes, path, options)
}

/// Labelled samples from CSV text in memory, named `<bytes>` in errors.
///
/// ```
/// use bn_train::csv::{parse_csv, CsvOptions};
/// let data = parse_csv(b"1,2,0\n3,4,1\n", &CsvOptions::default()).unwrap();
/// assert_eq!((data.len(), data.width(), data.labels()), (2, 2, &[0, 1][..]));
/// let err = parse_csv(b"1,2,0\n3,x,1\n", &CsvOptions::default()).unwrap_err();
/// assert_eq!(err.to_string(), "<bytes>: line 2, column 2: `x` is not a number");
/// ```
///
/// # Errors
/// As [`parse_csv_named`].
pub fn parse_csv(bytes: &[u8], options: &CsvOptions) -> Result<Dataset, DataError> {
    parse_csv_named(bytes, Path::new("<bytes>"), options)
}

/// Labelled samples from CSV text in memory; `name` names it in errors. Never panics.
///
/// # Errors
/// A [`DataError`] naming `name`, the line and, where one applies, the column:
/// [`Empty`](DataError::Empty) (no row, or only a header),
/// [`NoLabelColumn`](DataError::NoLabelColumn) (not in the header, or an index past the
/// first row), [`Ragged`](DataError::Ragged) (another number of cells than the first row),
/// [`Width`](DataError::Width) (not [`CsvOptions::expected_width`] features),
/// [`NotANumber`](DataError::NotANumber), [`NotFinite`](DataError::NotFinite) (NaN,
/// infinities, and numbers beyond `f32`), [`BadLabel`](DataError::BadLabel) (a label that
/// is not a non-negative integer), [`CsvSyntax`](DataError::CsvSyntax).
pub fn parse_csv_named(bytes: &[u8], name: &Path, options: &CsvOptions) -> Result<Dataset, DataError> {
    let file = || name.to_owned();
    // A UTF-8 byte order mark (Excel's "CSV UTF-8") is not part of the first cell.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .delimiter(options.delimiter)
        .from_reader(bytes);
    let mut record = ByteRecord::new();
    // The csv crate's line numbers do not count blank lines: count the newlines before each
    // record's first byte instead (incrementally: records come in order).
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut line_of = move |offset: usize| {
        let mut offset = offset.min(bytes.len()).max(counted_to);
        // A record's position includes the blank lines the reader skipped before it.
        while matches!(bytes.get(offset), Some(b'\n' | b'\r')) {
            offset += 1;
        }
        line += bytes[counted_to..offset].iter().filter(|&&b| b == b'\n').count();
        counted_to = offset;
        line
    };
    let mut read = |record: &mut ByteRecord| -> Result<Option<usize>, DataError> {
        match reader.read_byte_record(record) {
            Ok(true) => Ok(Some(line_of(record.position().map_or(0, |p| p.byte() as usize)))),
            Ok(false) => Ok(None),
            Err(e) => Err(DataError::CsvSyntax {
                file: file(),
                line: e.position().map(|p| p.line() as usize),
                message: e.to_string(),
            }),
        }
    };

    // The first row: the header, or the first sample.
    let Some(first_line) = read(&mut record)? else {
        return Err(DataError::Empty { file: file(), what: "an empty file" });
    };
    let columns = record.len();
    let label = match &options.label_column {
        LabelColumn::First => 0,
        LabelColumn::Last => columns - 1,
        LabelColumn::Index(i) if *i < columns => *i,
        LabelColumn::Index(i) => {
            return Err(DataError::NoLabelColumn {
                file: file(),
                label: format!("at index {i} (0-based)"),
                found: format!("{columns} columns"),
            })
        }
        LabelColumn::Name(n) => {
            let names: Vec<String> = record.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            match names.iter().position(|c| c == n) {
                Some(i) if options.has_header => i,
                _ => {
                    let found = if options.has_header {
                        format!("the columns {}", shorten(names.join(", ").as_bytes(), 200))
                    } else {
                        "no header (set CsvOptions::header to name columns)".into()
                    };
                    return Err(DataError::NoLabelColumn { file: file(), label: format!("named {n:?}"), found });
                }
            }
        }
    };
    let width = columns - 1;
    if let Some(expected) = options.expected_width {
        // Without a header the first row is a sample (with one, each row is checked below).
        if width != expected && !options.has_header {
            return Err(DataError::Width { file: Some(file()), line: Some(first_line), found: width, expected });
        }
    }

    let mut data = Dataset::new(width);
    let mut sample = vec![0f32; width];
    let mut row = |record: &ByteRecord, line: usize, data: &mut Dataset| -> Result<(), DataError> {
        if let Some(expected) = options.expected_width.filter(|&e| record.len() != e + 1) {
            let found = record.len().saturating_sub(1);
            return Err(DataError::Width { file: Some(file()), line: Some(line), found, expected });
        }
        if record.len() != columns {
            return Err(DataError::Ragged { file: file(), line, found: record.len(), first_line, expected: columns });
        }
        let mut features = sample.iter_mut();
        let mut class = 0;
        for (c, cell) in record.iter().enumerate() {
            let at = || format!("line {line}, column {}", c + 1);
            if c == label {
                class = parse_label(cell).ok_or_else(|| DataError::BadLabel {
                    file: file(),
                    at: at(),
                    found: shorten(cell, 20),
                })?;
            } else {
                let v = std::str::from_utf8(cell).ok().and_then(|s| s.parse::<f32>().ok()).ok_or_else(|| {
                    DataError::NotANumber { file: file(), line, column: c + 1, found: shorten(cell, 20) }
                })?;
                if !v.is_finite() {
                    return Err(DataError::NotFinite { file: file(), at: at(), found: shorten(cell, 20) });
                }
                if let Some(f) = features.next() {
                    *f = v;
                }
            }
        }
        data.push(&sample, class);
        Ok(())
    };
    if !options.has_header {
        row(&record, first_line, &mut data)?;
    }
    while let Some(line) = read(&mut record)? {
        row(&record, line, &mut data)?;
    }
    if data.is_empty() {
        return Err(DataError::Empty { file: file(), what: "only a header" });
    }
    Ok(data)
}

/// A class index: decimal digits only (after trimming), at most `u32::MAX`.
fn parse_label(cell: &[u8]) -> Option<u32> {
    if cell.is_empty() || !cell.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// A cell for an error message: between backquotes, at most `max` characters.
fn shorten(cell: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(cell);
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    format!("`{out}`")
}
