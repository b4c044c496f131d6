-- ar_norm(t) is the SQL twin of arabic.Normalize in internal/arabic/normalize.go:
-- it must give the same result for the same text, so that text normalised in
-- Go can be compared with text normalised in the database (search, duplicate
-- detection, expression indexes). Keep the two in step; see normalize.go for
-- the contract. In order:
--   1. normalize(t, NFKC);
--   2. lower();
--   3. remove tashkeel U+064B-U+065F, U+0670, Quranic marks U+06D6-U+06ED,
--      tatweel U+0640, and the invisible controls U+061C, U+200B-U+200F,
--      U+202A-U+202E, U+2060, U+2066-U+2069, U+FEFF;
--   4. translate(): أ إ آ ٱ -> ا, ى ی ئ -> ي, ة -> ه, ؤ -> و, ک -> ك,
--      Arabic-Indic and Persian digits -> 0-9, ، ؛ ؟ -> , ; ?;
--   5. normalize(NFKC) again (removing a mark can expose a composition);
--   6. collapse white space runs to one space; btrim.
--
-- Notes:
--   * The regex and U& literals need standard_conforming_strings = on (the
--     default) when this statement is executed; the body is parsed then, so
--     the setting does not matter later.
--   * The white-space class lists Go's unicode.IsSpace set explicitly instead
--     of \s, whose meaning depends on the database's LC_CTYPE (in a "C"
--     database \s matches ASCII white space only).
--   * lower() follows the database's default collation: with a libc
--     *.UTF-8 locale it lower-cases non-ASCII letters as Go does; in a "C"
--     database it lower-cases A-Z only. Arabic has no case, so this only
--     matters for non-ASCII Latin, Greek, Cyrillic, ... letters.
--   * Invalid UTF-8 cannot reach PostgreSQL; Go turns it into U+FFFD.
CREATE FUNCTION ar_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(
    regexp_replace(
        normalize(
            translate(
                regexp_replace(
                    lower(normalize(t, NFKC)),
                    '[\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]',
                    '', 'g'),
                U&'\0623\0625\0622\0671\0649\06CC\0626\0629\0624\06A9\0660\0661\0662\0663\0664\0665\0666\0667\0668\0669\06F0\06F1\06F2\06F3\06F4\06F5\06F6\06F7\06F8\06F9\060C\061B\061F',
                U&'\0627\0627\0627\0627\064A\064A\064A\0647\0648\0643' || '0123456789' || '0123456789' || ',;?'),
            NFKC),
        '[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+',
        ' ', 'g'),
    ' ');
