"""Docker's shell lexer (baleine.build.shell), case by case.

The tables follow moby/buildkit's ``frontend/dockerfile/shell`` tests (envVarTest,
wordsTest, TestProcessWithMatches, TestShellParserMandatoryEnvVars) and add the
corners around them: escapes in and out of quotes, the backtick escape, every
modifier with set, empty and unset variables, patterns, special parameters.
"""

from __future__ import annotations

import pytest

from baleine.build.shell import Lex, ShellError, build_envs

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
ERROR = object()

# (input, expected) with ENV above; ERROR when Docker rejects the word.
WORD_CASES = [
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ("he'llo", ERROR),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", ERROR),
    ("abc\\tdef", "abctdef"),
    ('"abc\\tdef"', "abc\\tdef"),
    ('"abc\\\\tdef"', "abc\\tdef"),
    ("'abc\\tdef'", "abc\\tdef"),
    ("hello\\", "hello"),
    ("hello\\\\", "hello\\"),
    ('"hello', ERROR),
    ('"hello\\"', ERROR),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", ERROR),
    ("'hello\\'", "hello\\"),
    ("'hello\\there'", "hello\\there"),
    ("'hello\\\\there'", "hello\\\\there"),
    ('"\'\'"', "''"),
    ("$.", "$."),
    ("he$1x", "hex"),
    ("he$.x", "he$.x"),
    ("he$pwd.", "he."),
    ("he$PWD", "he/home"),
    ("he\\$PWD", "he$PWD"),
    ("he\\\\$PWD", "he\\/home"),
    ('"he\\$PWD"', "he$PWD"),
    ('"he\\\\$PWD"', "he\\/home"),
    ("\\${}", "${}"),
    ("\\${}aaa", "${}aaa"),
    ("he\\${}", "he${}"),
    ("he\\${}xx", "he${}xx"),
    ("${}", ERROR),
    ("${}aaa", ERROR),
    ("he${}", ERROR),
    ("he${}xx", ERROR),
    ("he${hi}", "he"),
    ("he${hi}xx", "hexx"),
    ("he${PWD}", "he/home"),
    ("he${.}", ERROR),
    ("he${XXX:-000}xx", "he000xx"),
    ("he${PWD:-000}xx", "he/homexx"),
    ("he${XXX:-$PWD}xx", "he/homexx"),
    ("he${XXX:-${PWD:-yyy}}xx", "he/homexx"),
    ("he${XXX:-${YYY:-yyy}}xx", "heyyyxx"),
    ("he${XXX:YYY}", ERROR),
    ("he${XXX?}", ERROR),
    ("he${XXX:?}", ERROR),
    ("he${PWD?}", "he/home"),
    ("he${PWD:?}", "he/home"),
    ("he${NULL?}", "he"),
    ("he${NULL:?}", ERROR),
    ("he${XXX:+${PWD}}xx", "hexx"),
    ("he${PWD:+${XXX}}xx", "hexx"),
    ("he${PWD:+${SHELL}}xx", "hebashxx"),
    ("he${XXX:+000}xx", "hexx"),
    ("he${PWD:+000}xx", "he000xx"),
    ("'he${XX}'", "he${XX}"),
    ('"he${PWD}"', "he/home"),
    ("\"he'$PWD'\"", "he'/home'"),
    ('"$PWD"', "/home"),
    ("'$PWD'", "$PWD"),
    ("'\\$PWD'", "\\$PWD"),
    ("'\"hello\"'", '"hello"'),
    ("he\\$PWD", "he$PWD"),
    ('"he\\$PWD"', "he$PWD"),
    ("'he\\$PWD'", "he\\$PWD"),
    ("he${PWD", ERROR),
    ("he${PWD=000}xx", ERROR),
    ("he${PWD+${PWD}:}xx", "he/home:xx"),
    ("he${PWD+${SHELL}:}xx", "hebash:xx"),
    ("he${PWD-${SHELL}:}xx", "he/homexx"),
    ("he${XXX-${SHELL}:}xx", "hebash:xx"),
    ("he${XXX+${SHELL}:}xx", "hexx"),
    ("${KOREAN}", "한국어"),
    ("안녕${KOREAN}", "안녕한국어"),
    ("${PWD#/}", "home"),
    ("${PWD#h}", "/home"),
    ("${PWD%e}", "/hom"),
    ("${PWD%%o*}", "/h"),
    ("${PWD%o*}", "/h"),
    ("${PWD#*o}", "me"),
    ("${PWD##*o}", "me"),
    ("${SHELL/a/A}", "bAsh"),
    ("${SHELL//[ab]/x}", "bash"),
    ("${SHELL/sh/SH}", "baSH"),
    ("${NULL:-empty}", "empty"),
    ("${NULL-empty}", ""),
    ("${NULL:+set}", ""),
    ("${NULL+set}", "set"),
    # special parameters expand to nothing (they are never set)
    ("a$@b", "ab"),
    ("a$*b", "ab"),
    ("a$#b", "ab"),
    ("a$?b", "ab"),
    ("a$-b", "ab"),
    ("a$$b", "ab"),
    ("a$!b", "ab"),
    ("a$0b", "ab"),
    ("a$123b", "ab"),
    ("$", "$"),
    ("a$", "a$"),
    ("$ a", "$ a"),
    ("${:}", ERROR),
    ("${{}", ERROR),
    ("${", ERROR),
    ("${a b}", ERROR),
    ("${PWD:}", ERROR),
    ("$PWD$SHELL", "/homebash"),
    ("${PWD}${SHELL}", "/homebash"),
    ("$PWD-$SHELL", "/home-bash"),
    ("$PWD_x", ""),
    ("${PWD}_x", "/home_x"),
    ('"a b"', "a b"),
    ("a\\ b", "a b"),
    ("  spaced  ", "  spaced  "),
    ('"$NULL"', ""),
    ('"${PWD:-x y}"', "/home"),
    ('"${XXX:-x y}"', "x y"),
    ("${XXX:-'q'}", "q"),
    ('${XXX:-"q q"}', "q q"),
    ("${XXX:-\\}}", "}"),
    ("'a'\"b\"c", "abc"),
    ('"\\a"', "\\a"),
    ('"\\""', '"'),
    ('"\\$"', "$"),
    ('"\\\\"', "\\"),
]


@pytest.mark.parametrize("word,expected", WORD_CASES)
def test_process_word(word: str, expected: object) -> None:
    lex = Lex("\\")
    if expected is ERROR:
        with pytest.raises(ShellError):
            lex.process_word(word, ENV)
    else:
        assert lex.process_word(word, ENV) == expected
        # the list form of the environment gives the same
        assert lex.process_word(word, [f"{k}={v}" for k, v in ENV.items()]) == expected


WORDS_ENV = ["hi=hi", "space=abc  def", "leading=  ab c", "trailing=ab c   "]
WORDS_CASES = [
    ("hello", ["hello"]),
    ("hello${hi}bye", ["hellohibye"]),
    ("hello${space}bye", ["helloabc", "defbye"]),
    ('hello"${space}"bye', ["helloabc  defbye"]),
    ('hello "${space}"bye', ["hello", "abc  defbye"]),
    ("hello${leading}def", ["hello", "ab", "cdef"]),
    ('hello"${leading}" def', ["hello  ab c", "def"]),
    ('hello"${leading}"', ["hello  ab c"]),
    ("hello${leading}", ["hello", "ab", "c"]),
    ("hello${trailing}", ["helloab", "c"]),
    ("hello${trailing}d", ["helloab", "c", "d"]),
    ('hello"${trailing}"d', ["helloab c   d"]),
    ('hel"lo${trailing}"', ["helloab c   "]),
    ('hello" there  "', ["hello there  "]),
    ("hello there", ["hello", "there"]),
    ("hello\\ there", ["hello there"]),
    ('hello" there', ERROR),
    ('hello\\" there', ['hello"', "there"]),
    ('hello"\\\\there"', ["hello\\there"]),
    ('hello"\\there"', ["hello\\there"]),
    ("hello'\\\\there'", ["hello\\\\there"]),
    ("hello'\\there'", ["hello\\there"]),
    ("hello'$there'", ["hello$there"]),
    ("", []),
    ("   ", []),
    ("a  b\tc", ["a", "b", "c"]),
    ("$unset", []),
    ('""', []),
    ("''", []),
    ("a ''", ["a"]),
]


@pytest.mark.parametrize("word,expected", WORDS_CASES)
def test_process_words(word: str, expected: object) -> None:
    lex = Lex("\\")
    if expected is ERROR:
        with pytest.raises(ShellError):
            lex.process_words(word, WORDS_ENV)
    else:
        assert lex.process_words(word, WORDS_ENV) == expected


MATCH_CASES = [
    ("x", {"DUMMY": "dummy"}, "x"),
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x "),
    ("x ${FOO}", {"FOO": "y"}, "x y"),
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
    ("${FOO:-}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${FOO:-}", {}, ""),
    ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
    ("${FOO?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR?bbb}", {"FOO": "xxx", "BAR": ""}, ""),
    ("${BAZ?ccc}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${FOO:?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR:?bbb}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${BAZ:?ccc}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${BAZ:?}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${FOO=aaa}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${FOO=:aaa}", {"FOO": "xxx", "BAR": ""}, ERROR),
    ("${FOO=}", {}, ERROR),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO#}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
    ("${FOO##}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy."),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
    ("${FOO%}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO%%$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"},
     "/foo.*/*.txt - /foo..*.txt"),
    ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"}, "/tmp/bar.txt - /bar.txt"),
    ("${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
     {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"}, "/foo/b/c.txt - /foo/c.txt"),
    ("${FOO/$NEEDLE/$REPLACEMENT}", {"FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"},
     "https://google.de"),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy"),
    ("${FOO//ww}", {"FOO": "xxyy"}, ERROR),
    ("${FOO//}", {"FOO": "xxyy"}, ERROR),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO///}", {}, ""),
    # more patterns
    ("${FOO#a}", {"FOO": "aab"}, "ab"),
    ("${FOO##a*}", {"FOO": "aab"}, ""),
    ("${FOO%b}", {"FOO": "abb"}, "ab"),
    ("${FOO%%b*}", {"FOO": "abb"}, "a"),
    ("${FOO%?}", {"FOO": "abc"}, "ab"),
    ("${FOO#?}", {"FOO": "abc"}, "bc"),
    ("${FOO%.*}", {"FOO": "file.tar.gz"}, "file.tar"),
    ("${FOO%%.*}", {"FOO": "file.tar.gz"}, "file"),
    ("${FOO#*.}", {"FOO": "file.tar.gz"}, "tar.gz"),
    ("${FOO##*.}", {"FOO": "file.tar.gz"}, "gz"),
    ("${FOO##*/}", {"FOO": "/usr/local/bin/app"}, "app"),
    ("${FOO%/*}", {"FOO": "/usr/local/bin/app"}, "/usr/local/bin"),
    ("${FOO#nomatch}", {"FOO": "abc"}, "abc"),
    ("${FOO%nomatch}", {"FOO": "abc"}, "abc"),
    ("${FOO#x}", {}, ""),
    ("${FOO/b/X}", {"FOO": "abcabc"}, "aXcabc"),
    ("${FOO//b/X}", {"FOO": "abcabc"}, "aXcaXc"),
    ("${FOO//b*/X}", {"FOO": "abcabc"}, "aX"),
    ("${FOO/?/X}", {"FOO": "abc"}, "Xbc"),
    ("${FOO//?/X}", {"FOO": "abc"}, "XXX"),
    ("${FOO/nomatch/X}", {"FOO": "abc"}, "abc"),
    ("${FOO/x\\y/z}", {"FOO": "x"}, ERROR),
    ("${TARGETVARIANT:+-${TARGETVARIANT}}", {"TARGETVARIANT": "v7"}, "-v7"),
    ("${TARGETVARIANT:+-${TARGETVARIANT}}", {"TARGETVARIANT": ""}, ""),
    ("something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
     {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7"},
     "something-v1.2.3.linux-arm-v7.tar.gz"),
    ("something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
     {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "amd64"},
     "something-v1.2.3.linux-amd64.tar.gz"),
]


@pytest.mark.parametrize("word,env,expected", MATCH_CASES)
def test_with_maps(word: str, env: dict[str, str], expected: object) -> None:
    lex = Lex("\\")
    if expected is ERROR:
        with pytest.raises(ShellError):
            lex.process_word(word, env)
    else:
        assert lex.process_word(word, env) == expected


def test_matched_and_unmatched() -> None:
    r = Lex().process("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""})
    assert r.matched == {"FOO", "BAR"}
    assert r.unmatched == {"BAZ"}
    r = Lex().process("${FOO/$NEEDLE/.}", {"FOO": "a", "NEEDLE": "b"})
    assert r.matched == {"FOO", "NEEDLE"}


def test_mandatory_messages() -> None:
    lex = Lex()
    set_, empty, unset = ["VAR=plain", "ARG=x"], ["VAR=", "ARG=x"], ["ARG=x"]
    assert lex.process_word("${VAR:?message here$ARG}", set_) == "plain"
    with pytest.raises(ShellError, match="VAR: message herex"):
        lex.process_word("${VAR:?message here$ARG}", empty)
    with pytest.raises(ShellError, match="message herex"):
        lex.process_word("${VAR:?message here$ARG}", unset)
    assert lex.process_word("${VAR?message here$ARG}", set_) == "plain"
    assert lex.process_word("${VAR?message here$ARG}", empty) == ""
    with pytest.raises(ShellError, match="message herex"):
        lex.process_word("${VAR?message here$ARG}", unset)
    with pytest.raises(ShellError, match="is not allowed to be unset"):
        lex.process_word("${VAR?}", unset)
    with pytest.raises(ShellError, match="is not allowed to be empty"):
        lex.process_word("${VAR:?}", empty)


@pytest.mark.parametrize("word,message", [
    ("${}", "bad substitution"),
    ("${", "missing '}'"),
    ("${a", "unsupported modifier"),
    ("${a:-x", "missing '}'"),
    ("${a/x", "missing '/' in ${}"),
    ("${a/x/y", "missing '}'"),
    ("'x", "matching single-quote"),
    ('"x', "matching double-quote"),
    ("${a=b}", "unsupported modifier (=) in substitution"),
    ("${a:=b}", "unsupported modifier (:=) in substitution"),
])
def test_error_messages(word: str, message: str) -> None:
    with pytest.raises(ShellError) as exc:
        Lex().process_word(word, {})
    assert message in str(exc.value)
    assert str(exc.value).startswith('failed to process "')


@pytest.mark.parametrize("word,modifier", [
    ("${VAR:#pat}", ":#"), ("${VAR:##pat}", ":#"), ("${VAR:%pat}", ":%"), ("${VAR:%%pat}", ":%"),
    ("${VAR:#}", ":#"), ("${VAR:%*}", ":%"), ("x${VAR:#$OTHER}y", ":#"),
])
def test_colon_pattern_modifiers_are_errors(word: str, modifier: str) -> None:
    # BuildKit's lexer rejects them before reading the pattern, whatever the
    # variables, SkipUnsetEnv included; only the forms without ":" trim.
    for lex, env in ((Lex(), {"VAR": "value"}), (Lex(), {}), (Lex(skip_unset=True), {})):
        with pytest.raises(ShellError) as exc:
            lex.process_word(word, env)
        assert str(exc.value) == f'failed to process "{word}": unsupported modifier ({modifier}) in substitution'


def test_pattern_modifiers_without_colon_still_trim() -> None:
    env = {"VAR": "a.b.c"}
    assert [Lex().process_word(w, env) for w in ("${VAR#*.}", "${VAR##*.}", "${VAR%.*}", "${VAR%%.*}")] == \
        ["b.c", "c", "a.b", "a"]


def test_heredoc_operator_keeps_its_blanks_in_the_word() -> None:
    # lex.go's processPossibleHeredoc: the blanks (space, tab, CR) right after "<<"
    # join the next word, so "<< EOF" is one word; nothing else changes.
    lex = Lex(raw_quotes=True, raw_escapes=True, skip_unset=True)
    assert lex.process_words("cat << EOF > f", {}) == ["cat", "<< EOF", ">", "f"]
    assert lex.process_words("cat <<\t 'EOF'", {}) == ["cat", "<<\t 'EOF'"]
    assert lex.process_words("cat <<- EOF", {}) == ["cat", "<<-", "EOF"]
    assert lex.process_words("cat < EOF a<b", {}) == ["cat", "<", "EOF", "a<b"]
    assert lex.process_words("<<", {}) == ["<<"]
    assert Lex().process_words("a << ", {}) == ["a", "<< "]
    assert Lex().process_word("a <<  b <c", {}) == "a <<  b <c"


BACKTICK_CASES = [
    ("a`$b", "a$b"),
    ("a`\\b", "a\\b"),
    ("a\\b", "a\\b"),
    ('"a`"b"', 'a"b'),
    ('"a`$b"', "a$b"),
    ('"a``b"', "a`b"),
    ('"a`xb"', "a`xb"),
    ("C:\\path\\$X", "C:\\path\\1"),
    ("a` b", "a b"),
    ("a``", "a`"),
]


@pytest.mark.parametrize("word,expected", BACKTICK_CASES)
def test_backtick_escape(word: str, expected: str) -> None:
    assert Lex("`").process_word(word, {"X": "1", "b": "B"}) == expected


@pytest.mark.parametrize("word,expected", [
    ("$A ${B} ${C:-x}", "$A ${B} ${C:-x}"),
    ("${A/x/y}", "${A/x/y}"),
    ("$SET ${SET}", "1 1"),
    ("${SET:-x}", "1"),
    ("'$A'", "$A"),
])
def test_skip_unset(word: str, expected: str) -> None:
    assert Lex(skip_unset=True).process_word(word, {"SET": "1"}) == expected


def test_raw_quotes_and_escapes() -> None:
    assert Lex(raw_quotes=True).process_word("'a'\"b\"", {}) == "'a'\"b\""
    assert Lex(raw_escapes=True).process_word("a\\b", {}) == "a\\b"
    assert Lex(raw_escapes=True, raw_quotes=True, skip_unset=True).process_words("cat <<'EOF' x", {}) == \
        ["cat", "<<'EOF'", "x"]


def test_skip_quotes() -> None:
    assert Lex(skip_quotes=True).process_word("'$A' \"$A\"", {"A": "x"}) == "'x' \"x\""


def test_build_envs_last_wins() -> None:
    assert build_envs(["foo=bar", "car=hat", "car=bike", "bare"]) == {"foo": "bar", "car": "bike", "bare": ""}


def test_env_keys_are_case_sensitive() -> None:
    assert Lex().process_word("$pwd$PWD", {"PWD": "/x"}) == "/x"
