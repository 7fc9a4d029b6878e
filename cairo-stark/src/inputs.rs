//! Input groups: the field elements a program runs on.
//!
//! The text form is a CSV of values separated by commas and/or line breaks, each a non-negative
//! decimal number or a `0x` hexadecimal number below the Stark prime. Blank lines and a trailing
//! separator are allowed; an empty file is an empty input group.

use lambdaworks_math::field::traits::IsPrimeField;
use lambdaworks_math::unsigned_integer::element::UnsignedInteger;

use crate::Felt;

type Modulus =
    lambdaworks_math::field::fields::fft_friendly::stark_252_prime_field::Stark252PrimeField;

/// Why an input CSV was refused; positions are 1-based as a person counts them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("line {line}, value {column}: {value:?} is not a decimal or 0x-hex number")]
    NotANumber {
        line: usize,
        column: usize,
        value: String,
    },
    #[error("line {line}, value {column}: {value:?} is not below the Stark prime")]
    OutOfField {
        line: usize,
        column: usize,
        value: String,
    },
    #[error("line {line}, value {column}: empty value between separators")]
    EmptyValue { line: usize, column: usize },
    #[error("the input is not UTF-8 text")]
    NotText,
}

/// Parses an input group from its CSV bytes.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<Felt>, InputError> {
    let mut values = Vec::new();
    visit_csv(bytes, |value| values.push(value))?;
    Ok(values)
}

/// The canonical form of an input group's CSV ([`to_csv`] of its values), written while the CSV
/// is read: it never holds the values themselves, so checking an upload costs about its own
/// size again, not 32 bytes a value.
pub fn canonical_csv(bytes: &[u8]) -> Result<String, InputError> {
    let mut out = String::with_capacity(bytes.len());
    visit_csv(bytes, |value| push_canonical(&mut out, &value))?;
    Ok(out)
}

/// Calls `f` with each value of the CSV, in order.
fn visit_csv(bytes: &[u8], mut f: impl FnMut(Felt)) -> Result<(), InputError> {
    let text = std::str::from_utf8(bytes).map_err(|_| InputError::NotText)?;
    for (line_index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let last = fields.len() - 1;
        for (column_index, field) in fields.into_iter().enumerate() {
            let (line, column) = (line_index + 1, column_index + 1);
            let field = field.trim();
            if field.is_empty() {
                if column_index == last && column_index > 0 {
                    continue; // trailing comma
                }
                return Err(InputError::EmptyValue { line, column });
            }
            f(parse_felt(field).map_err(|kind| kind.at(line, column, field))?);
        }
    }
    Ok(())
}

/// Writes an input group in the canonical CSV form: one decimal value per line (the form people
/// write, and about the size of what they upload).
pub fn to_csv(values: &[Felt]) -> String {
    let mut out = String::new();
    for value in values {
        push_canonical(&mut out, value);
    }
    out
}

fn push_canonical(out: &mut String, value: &Felt) {
    out.push_str(&to_decimal(value));
    out.push('\n');
}

/// A field element's canonical value in decimal, as people read it.
pub fn to_decimal(value: &Felt) -> String {
    // Big-endian 64-bit limbs; repeated division by 10^19 (the largest power of ten in a u64)
    // collects base-10^19 digits, least significant first.
    const BASE: u128 = 10_000_000_000_000_000_000;
    let mut limbs = value.representative().limbs;
    let mut digits = Vec::new();
    while limbs.iter().any(|&limb| limb != 0) {
        let mut remainder: u128 = 0;
        for limb in limbs.iter_mut() {
            let current = (remainder << 64) | u128::from(*limb);
            *limb = (current / BASE) as u64;
            remainder = current % BASE;
        }
        digits.push(remainder as u64);
    }
    match digits.split_last() {
        None => "0".to_string(),
        Some((most, rest)) => rest.iter().rev().fold(most.to_string(), |text, digit| {
            text + &format!("{digit:019}")
        }),
    }
}

enum FeltError {
    NotANumber,
    OutOfField,
}

impl FeltError {
    fn at(self, line: usize, column: usize, value: &str) -> InputError {
        let value = value.chars().take(80).collect();
        match self {
            FeltError::NotANumber => InputError::NotANumber {
                line,
                column,
                value,
            },
            FeltError::OutOfField => InputError::OutOfField {
                line,
                column,
                value,
            },
        }
    }
}

/// The field's modulus, 2^251 + 17 * 2^192 + 1, in decimal.
const MODULUS_DECIMAL: &str =
    "3618502788666131213697322783095070105623107215331596699973092056135872020481";

fn parse_felt(text: &str) -> Result<Felt, FeltError> {
    let number = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FeltError::NotANumber);
        }
        let significant = hex.trim_start_matches('0');
        if significant.len() > 64 {
            return Err(FeltError::OutOfField);
        }
        UnsignedInteger::<4>::from_hex(if significant.is_empty() {
            "0"
        } else {
            significant
        })
        .map_err(|_| FeltError::NotANumber)?
    } else {
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FeltError::NotANumber);
        }
        // `from_dec_str` wraps around 2^256: compare the digits with the modulus first.
        let significant = text.trim_start_matches('0');
        let longer = significant.len() > MODULUS_DECIMAL.len();
        let same_length = significant.len() == MODULUS_DECIMAL.len();
        if longer || (same_length && significant >= MODULUS_DECIMAL) {
            return Err(FeltError::OutOfField);
        }
        UnsignedInteger::<4>::from_dec_str(if significant.is_empty() {
            "0"
        } else {
            significant
        })
        .map_err(|_| FeltError::OutOfField)?
    };
    if number >= Modulus::modulus_minus_one() + UnsignedInteger::from_u64(1) {
        return Err(FeltError::OutOfField);
    }
    Ok(Felt::from(&number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_hex_commas_and_lines_all_parse() {
        let values = parse_csv(b"1, 2,0x10\n\n 3,\n").unwrap();
        let expected: Vec<Felt> = [1u64, 2, 16, 3].iter().map(|&v| Felt::from(v)).collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn the_decimal_modulus_is_the_fields() {
        let parsed = UnsignedInteger::<4>::from_dec_str(MODULUS_DECIMAL).unwrap();
        assert_eq!(
            parsed,
            Modulus::modulus_minus_one() + UnsignedInteger::from_u64(1)
        );
    }

    #[test]
    fn decimals_at_or_past_2_to_the_256_do_not_wrap() {
        let two_256 =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        for k in 0..4u8 {
            let text = format!("{}{}", &two_256[..two_256.len() - 1], 6 + k);
            assert!(parse_csv(text.as_bytes()).is_err(), "{text}");
        }
        assert!(parse_csv(format!("00{two_256}").as_bytes()).is_err());
        assert_eq!(parse_csv(b"0007").unwrap(), vec![Felt::from(7u64)]);
        assert_eq!(parse_csv(b"000").unwrap(), vec![Felt::from(0u64)]);
    }

    #[test]
    fn empty_file_is_an_empty_group() {
        assert_eq!(parse_csv(b"").unwrap(), Vec::<Felt>::new());
        assert_eq!(parse_csv(b"\n \n").unwrap(), Vec::<Felt>::new());
    }

    #[test]
    fn prime_minus_one_is_accepted_and_prime_is_refused() {
        let p_minus_1 =
            "3618502788666131213697322783095070105623107215331596699973092056135872020480";
        let p = "3618502788666131213697322783095070105623107215331596699973092056135872020481";
        assert_eq!(parse_csv(p_minus_1.as_bytes()).unwrap(), vec![-Felt::one()]);
        assert!(matches!(
            parse_csv(p.as_bytes()),
            Err(InputError::OutOfField { .. })
        ));
        let hex_p = "0x800000000000011000000000000000000000000000000000000000000000001";
        assert!(matches!(
            parse_csv(hex_p.as_bytes()),
            Err(InputError::OutOfField { .. })
        ));
        assert!(matches!(
            parse_csv(format!("0x1{}", "0".repeat(64)).as_bytes()),
            Err(InputError::OutOfField { .. })
        ));
    }

    #[test]
    fn garbage_is_located() {
        assert_eq!(
            parse_csv(b"1\n2,x3"),
            Err(InputError::NotANumber {
                line: 2,
                column: 2,
                value: "x3".into()
            })
        );
        assert!(matches!(
            parse_csv(b"-1"),
            Err(InputError::NotANumber { .. })
        ));
        assert!(matches!(
            parse_csv(b"1,,2"),
            Err(InputError::EmptyValue { line: 1, column: 2 })
        ));
        assert!(matches!(
            parse_csv(b"0x"),
            Err(InputError::NotANumber { .. })
        ));
        assert_eq!(parse_csv(&[0xff, 0xfe]), Err(InputError::NotText));
    }

    #[test]
    fn decimal_form_matches_the_parsed_value() {
        assert_eq!(to_decimal(&Felt::from(0u64)), "0");
        assert_eq!(to_decimal(&Felt::from(1234567u64)), "1234567");
        let p_minus_1 =
            "3618502788666131213697322783095070105623107215331596699973092056135872020480";
        assert_eq!(to_decimal(&-Felt::one()), p_minus_1);
        let two_to_128 = "340282366920938463463374607431768211456";
        let value = parse_csv(two_to_128.as_bytes()).unwrap()[0];
        assert_eq!(to_decimal(&value), two_to_128);
        assert_eq!(
            to_decimal(&Felt::from(10_000_000_000_000_000_000u64)),
            "10000000000000000000"
        );
        let square = Felt::from(u64::MAX) * Felt::from(u64::MAX);
        let expected = (u128::from(u64::MAX) * u128::from(u64::MAX)).to_string();
        assert_eq!(to_decimal(&square), expected);
    }

    #[test]
    fn canonical_csv_round_trips() {
        let values = parse_csv(b"5,0xff,0").unwrap();
        assert_eq!(parse_csv(to_csv(&values).as_bytes()).unwrap(), values);
    }
}
