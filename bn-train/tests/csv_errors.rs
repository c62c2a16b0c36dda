//! The CSV loader: what it reads, and every error with its file, line and column.

use std::path::Path;

use bn_train::{load_csv, parse_csv, parse_csv_named, CsvOptions, DataError, LabelColumn};

fn err(text: &str, opts: &CsvOptions) -> String {
    match parse_csv(text.as_bytes(), opts) {
        Ok(d) => panic!("expected an error, loaded {} samples of {}", d.len(), d.width()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reads_headers_label_columns_quotes_and_blank_lines() {
    let text = "a,label,b\r\n1, 2 ,3\n\n\"4\",5,-6e-1\n";
    let by_name = CsvOptions::default().header(true).label(LabelColumn::Name("label".into()));
    let d = parse_csv(text.as_bytes(), &by_name).unwrap();
    assert_eq!((d.len(), d.width()), (2, 2));
    assert_eq!(d.samples(), [1.0, 3.0, 4.0, -0.6]);
    assert_eq!(d.labels(), [2, 5]);
    let by_index = CsvOptions::default().header(true).label(LabelColumn::Index(1));
    assert_eq!(parse_csv(text.as_bytes(), &by_index).unwrap(), d);
    let first = parse_csv(b"7,1.5\n8,2.5\n", &CsvOptions::default().label(LabelColumn::First)).unwrap();
    assert_eq!((first.samples(), first.labels()), (&[1.5, 2.5][..], &[7, 8][..]));
    let semi = parse_csv(b"1;2;0\n", &CsvOptions::default().delimiter(b';').width(2)).unwrap();
    assert_eq!(semi.samples(), [1.0, 2.0]);
}

#[test]
fn ragged_rows() {
    let msg = err("1,2,3,0\n1,2,3,0\n1,2,0\n", &CsvOptions::default());
    assert_eq!(msg, "<bytes>: line 3: 3 values, the first row (line 1) has 4");
    let msg = err("a,b,y\n1,2,0\n\n1,2,3,0\n", &CsvOptions::default().header(true));
    assert_eq!(msg, "<bytes>: line 4: 4 values, the first row (line 1) has 3");
}

#[test]
fn wrong_width_for_the_network() {
    let row: Vec<String> = (0..784).map(|i| (i % 7).to_string()).collect();
    let text = format!("{}\n", row.join(","));
    let msg = err(&text, &CsvOptions::default().width(784));
    assert_eq!(msg, "<bytes>: line 1: 783 values, the network takes 784");
    let msg = err(&format!("header\n{text}"), &CsvOptions::default().header(true).delimiter(b',').width(784));
    assert_eq!(msg, "<bytes>: line 2: 783 values, the network takes 784");
    // A row after the first: the same message, at its line.
    let good: Vec<String> = (0..785).map(|i| (i % 7).to_string()).collect();
    let msg = err(&format!("{}\n{}\n{text}", good.join(","), good.join(",")), &CsvOptions::default().width(784));
    assert_eq!(msg, "<bytes>: line 3: 783 values, the network takes 784");
    // A byte order mark is not part of the first header name.
    let d = bn_train::parse_csv(
        b"\xEF\xBB\xBFy,a\n1,2\n",
        &CsvOptions::default().header(true).label(LabelColumn::Name("y".into())),
    )
    .unwrap();
    assert_eq!((d.label(0), d.sample(0)), (1, &[2.0][..]));
    let msg = err(
        &format!("{}\n{text}", row.join(",")),
        &CsvOptions::default().header(true).for_input::<bn_core::typenum::U784>(),
    );
    assert_eq!(msg, "<bytes>: line 2: 783 values, the network takes 784");
}

#[test]
fn non_numeric_cell() {
    let msg = err("1,2,0\n3,abc,1\n", &CsvOptions::default());
    assert_eq!(msg, "<bytes>: line 2, column 2: `abc` is not a number");
    let msg = err("1,,0\n", &CsvOptions::default());
    assert_eq!(msg, "<bytes>: line 1, column 2: `` is not a number");
    let named = parse_csv_named(b"1,2,0\n1,2x,0\n", Path::new("data/x.csv"), &CsvOptions::default());
    assert_eq!(named.unwrap_err().to_string(), "data/x.csv: line 2, column 2: `2x` is not a number");
}

#[test]
fn nan_and_infinities_are_refused() {
    for cell in ["NaN", "nan", "inf", "-infinity", "1e39"] {
        let msg = err(&format!("1,2,0\n4,{cell},1\n"), &CsvOptions::default());
        assert_eq!(msg, format!("<bytes>: line 2, column 2: `{cell}` is not finite (NaN and infinities are refused)"));
    }
}

#[test]
fn empty_file_and_header_only() {
    assert_eq!(err("", &CsvOptions::default()), "<bytes>: no samples: an empty file");
    assert_eq!(err("\n\n", &CsvOptions::default()), "<bytes>: no samples: an empty file");
    assert_eq!(err("a,b\n", &CsvOptions::default().header(true)), "<bytes>: no samples: only a header");
}

#[test]
fn label_column_missing() {
    let opts = CsvOptions::default().header(true).label(LabelColumn::Name("class".into()));
    assert_eq!(
        err("a,b,label\n1,2,0\n", &opts),
        "<bytes>: no label column named \"class\": the first row has the columns `a, b, label`"
    );
    let no_header = CsvOptions::default().label(LabelColumn::Name("class".into()));
    assert!(err("1,2,0\n", &no_header).contains("no header"));
    let msg = err("1,2,0\n", &CsvOptions::default().label(LabelColumn::Index(3)));
    assert_eq!(msg, "<bytes>: no label column at index 3 (0-based): the first row has 3 columns");
}

#[test]
fn label_not_an_integer() {
    for cell in ["1.5", "-1", "x", "4294967296", ""] {
        let msg = err(&format!("1,2,0\n3,4,{cell}\n"), &CsvOptions::default());
        assert_eq!(
            msg,
            format!("<bytes>: line 2, column 3: the label `{cell}` is not a class index (an integer 0 to 4294967295)")
        );
    }
}

#[test]
fn io_error_names_the_file() {
    let e = load_csv(Path::new("/nonexistent/dir/x.csv"), &CsvOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/dir/x.csv: cannot read"), "{e}");
}

#[test]
fn never_panics_on_random_bytes() {
    let mut rng = bn_core::Rng::seed(11);
    let alphabet = b"0123456789,.;-e\"\r\n naNif";
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len % 60).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        for opts in [CsvOptions::default(), CsvOptions::default().header(true).label(LabelColumn::Index(1)).width(2)] {
            if let Ok(d) = parse_csv(&bytes, &opts) {
                assert_eq!(d.samples().len(), d.len() * d.width());
                assert!(d.samples().iter().all(|v| v.is_finite()));
            }
        }
    }
}
