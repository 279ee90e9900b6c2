"""The Dockerfile parser and instruction layer (baleine.build.parser, .instructions)."""

from __future__ import annotations

import pytest

from baleine.build.instructions import (ArgInstr, CmdInstr, CopyInstr, EnvInstr, ExposeInstr, HealthcheckInstr,
                                        LabelInstr, MaintainerInstr, OnbuildInstr, RunInstr, ShellInstr, ValueInstr,
                                        VolumeInstr, load, parse_mount)
from baleine.build.parser import DockerfileError, parse, parse_heredoc, parse_words, split_command


def nodes(text: str):
    return parse(text).nodes


def one(text: str):
    bf = load("FROM scratch\n" + text)
    assert len(bf.stages[0].instructions) == 1, bf.stages[0].instructions
    return bf.stages[0].instructions[0]


# -- lines, comments, continuations -----------------------------------------------------


def test_keywords_are_case_insensitive() -> None:
    ns = nodes("from busybox\nrun echo hi\nCoPy a b\n")
    assert [n.keyword for n in ns] == ["FROM", "RUN", "COPY"]


def test_comments_and_blank_lines() -> None:
    ns = nodes("# c1\n\n   # indented comment\nFROM a\n\n# c2\nRUN x # not a comment\n")
    assert [(n.keyword, n.args, n.start_line) for n in ns] == [("FROM", ["a"], 4),
                                                               ("RUN", ["x # not a comment"], 7)]


def test_continuation_joins_lines() -> None:
    ns = nodes("FROM a\nRUN echo a \\\n  && echo b\n")
    assert ns[1].args == ["echo a   && echo b"]
    assert (ns[1].start_line, ns[1].end_line) == (2, 3)


def test_continuation_skips_comments_and_warns_on_empty_lines() -> None:
    df = parse("FROM a\nRUN echo a \\\n# comment\n\n  && echo b\n")
    assert df.nodes[1].args == ["echo a   && echo b"]
    assert any("Empty continuation line" in w for w in df.warnings)


def test_continuation_trailing_whitespace_after_escape() -> None:
    assert nodes("FROM a\nRUN a \\   \n b\n")[1].args == ["a  b"]


def test_escaped_escape_is_not_a_continuation_only_when_alone() -> None:
    # Like Docker's regexp: a line ending in "\\\\" is not a continuation.
    ns = nodes("FROM a\nRUN echo \\\\\nRUN b\n")
    assert ns[1].args == ["echo \\\\"]
    assert ns[2].keyword == "RUN"


@pytest.mark.parametrize("text,end_line,warned", [
    ("FROM a\nRUN echo hi \\\n", 2, False),
    ("FROM a\nRUN echo hi \\", 2, False),
    ("FROM a\nRUN echo hi \\\n# a comment\n", 3, False),
    # BuildKit reads the blank lines as empty continuation lines, and says so.
    ("FROM a\nRUN echo hi \\\n\n# a comment\n  \n", 5, True),
    ("# escape=`\nFROM a\nRUN echo hi `\n", 3, False),
])
def test_continuation_at_end_of_file_ends_the_instruction(text: str, end_line: int, warned: bool) -> None:
    # BuildKit's continuation loop stops with its scanner: the instruction ends there.
    df = parse(text, "Dockerfile.dev")
    run = df.nodes[-1]
    assert (run.keyword, run.args, run.end_line) == ("RUN", ["echo hi"], end_line)
    assert run.start_line == text[:text.index("RUN")].count("\n") + 1
    assert bool(df.warnings) == warned
    instr = load(text).stages[0].instructions[0]
    assert isinstance(instr, RunInstr) and instr.cmd == ["echo hi"]


def test_empty_file() -> None:
    with pytest.raises(DockerfileError, match="file with no instructions"):
        parse("# only a comment\n\n")


def test_bom_and_crlf() -> None:
    ns = nodes("\ufeffFROM a\r\nRUN b \\\r\n c\r\n")
    assert ns[0].args == ["a"]
    assert ns[1].args == ["b  c"]


# -- directives -----------------------------------------------------------------------


def test_directives() -> None:
    df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN echo `\n  b\n")
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert df.escape == "`"
    assert df.nodes[1].args == ["echo   b"]


def test_directive_after_instruction_is_a_comment() -> None:
    df = parse("FROM a\n# escape=`\nRUN b \\\n c\n")
    assert df.escape == "\\"
    assert df.nodes[1].args == ["b  c"]


def test_directive_after_comment_is_a_comment() -> None:
    assert parse("# hello\n# escape=`\nFROM a\n").escape == "\\"


def test_directive_after_blank_line_is_a_comment() -> None:
    assert parse("\n# escape=`\nFROM a\n").escape == "\\"


def test_bad_escape_directive() -> None:
    with pytest.raises(DockerfileError, match="invalid escape token 'x' does not match ` or"):
        parse("# escape=x\nFROM a\n")


def test_repeated_directive() -> None:
    with pytest.raises(DockerfileError, match="only one escape parser directive can be used"):
        parse("# escape=`\n# escape=\\\nFROM a\n")


def test_directive_spacing_and_case() -> None:
    assert parse("#   ESCAPE   =   `  \nFROM a\n").escape == "`"


def test_unknown_directive_ends_directives() -> None:
    df = parse("# foo=bar\n# escape=`\nFROM a\n")
    assert df.escape == "\\"


# -- argument forms --------------------------------------------------------------------


def test_json_form() -> None:
    n = nodes('FROM a\nCMD ["echo", "hi there"]\n')[1]
    assert n.json and n.args == ["echo", "hi there"]


@pytest.mark.parametrize("text,args", [
    ('CMD ["echo"] tail', ['["echo"] tail']),
    ('ENTRYPOINT ["a", "b"]]', ['["a", "b"]]']),
    ('RUN ["echo", "hi"] # not a comment', ['["echo", "hi"] # not a comment']),
    ('RUN [1] x', ["[1] x"]),  # not JSON as a whole: no "strings only" error
    ('VOLUME ["/a"] /b', ['["/a"]', "/b"]),
    ('COPY ["a"] b', ['["a"]', "b"]),
])
def test_json_followed_by_text_is_the_shell_form(text: str, args: list[str]) -> None:
    # BuildKit's parseJSON uses json.Unmarshal: the whole rest must be the array.
    n = nodes("FROM a\n" + text + "\n")[1]
    assert not n.json and n.args == args


def test_json_then_trailing_blanks_is_still_json() -> None:
    n = nodes('FROM a\nCMD ["echo"]  \t\n')[1]
    assert n.json and n.args == ["echo"]


def test_json_followed_by_text_in_instructions() -> None:
    c = one('CMD ["echo"] tail')
    assert isinstance(c, CmdInstr) and c.cmd == ['["echo"] tail'] and c.prepend_shell
    assert one('VOLUME ["/a"] /b').volumes == ['["/a"]', "/b"]


def test_empty_json_array_then_heredoc_reads_the_heredoc() -> None:
    df = parse("FROM a\nRUN [] <<EOF\necho hi\nEOF\nRUN b\n")
    run = df.nodes[1]
    assert not run.json and run.args == ["[] <<EOF"]
    assert [(h.name, h.content) for h in run.heredocs] == [("EOF", "echo hi\n")]
    assert [n.keyword for n in df.nodes] == ["FROM", "RUN", "RUN"]


@pytest.mark.parametrize("array", ["[NaN]", '["a", Infinity]', "[-Infinity]", "[1e400]", '["a", -1e400]',
                                   "[1" + "0" * 400 + "]"])
def test_json_values_go_refuses_are_the_shell_form(array: str) -> None:
    # Go's decoder has no NaN/Infinity and fails on numbers beyond float64:
    # the text is then not JSON at all, rather than an array of non-strings.
    n = nodes(f"FROM a\nCMD {array}\n")[1]
    assert not n.json and n.args == [array]


def test_json_numbers_go_accepts_are_non_strings() -> None:
    for array in ("[1e-400]", "[1e308]", "[-0]"):
        with pytest.raises(DockerfileError, match="arrays must be comprised of strings only"):
            parse(f"FROM a\nCMD {array}\n")


def test_json_lone_surrogates_become_replacement_characters() -> None:
    n = nodes('FROM a\nCMD ["\\ud800", "a\\udc00b", "\\ud83d\\ude00", "\\udc00\\ud800x"]\n')[1]
    assert n.json and n.args == ["\ufffd", "a\ufffdb", "\U0001f600", "\ufffd\ufffdx"]
    r = one('RUN ["echo", "\\ud800"]')
    assert r.cmd == ["echo", "\ufffd"]
    r.cmd[1].encode("utf-8")  # a lone surrogate could not be encoded for the runtime


def test_invalid_json_falls_back_to_shell_form() -> None:
    for text in ('CMD [echo]', "CMD ['echo']", 'CMD ["echo",]', 'CMD ["a" "b"]', 'CMD [ "unterminated'):
        n = nodes("FROM a\n" + text + "\n")[1]
        assert not n.json, text
        assert n.args == [text[4:]]


def test_json_of_non_strings_is_an_error() -> None:
    with pytest.raises(DockerfileError, match="arrays must be comprised of strings only"):
        parse('FROM a\nCMD ["a", 1]\n')


def test_empty_json_array() -> None:
    n = nodes("FROM a\nCMD []\n")[1]
    assert n.json and n.args == []


def test_copy_whitespace_split_and_json() -> None:
    assert nodes("FROM a\nCOPY  a   b\tc\n")[1].args == ["a", "b", "c"]
    n = nodes('FROM a\nCOPY ["a b", "c"]\n')[1]
    assert n.json and n.args == ["a b", "c"]


def test_env_forms() -> None:
    assert nodes("FROM a\nENV A=1 B=\"x y\" C='z'\n")[1].args == ["A", "1", "B", '"x y"', "C", "'z'"]
    assert nodes("FROM a\nENV D hello world\n")[1].args == ["D", "hello world"]
    assert nodes("FROM a\nENV E=\n")[1].args == ["E", ""]
    assert nodes("FROM a\nENV F=a\\ b\n")[1].args == ["F", "a\\ b"]


def test_env_errors() -> None:
    with pytest.raises(DockerfileError, match="ENV must have two arguments"):
        parse("FROM a\nENV A\n")
    with pytest.raises(DockerfileError, match="can't find = in \"B\""):
        parse("FROM a\nENV A=1 B\n")


def test_label_forms() -> None:
    assert nodes('FROM a\nLABEL "com.x"="y z" k=v\n')[1].args == ['"com.x"', '"y z"', "k", "v"]


def test_flags() -> None:
    n = nodes("FROM a\nCOPY --from=b --chown=1:2 --link x y\n")[1]
    assert n.flags == ["--from=b", "--chown=1:2", "--link"]
    assert n.args == ["x", "y"]


def test_flags_quotes_and_double_dash() -> None:
    assert split_command('COPY --chown="a b" x y') == ("COPY", ["--chown=a b"], "x y")
    assert split_command("COPY -- --x y") == ("COPY", [], "--x y")
    assert split_command("RUN -x") == ("RUN", [], "-x")


def test_flags_use_the_backtick_escape() -> None:
    # BuildKit's extractBuilderFlags unescapes with the directive's escape token.
    df = parse("# escape=`\nFROM a\nRUN --mount=type=bind,source=C:\\src,target=/x true\n"
               "COPY --chown=a`:b --chmod=\"7`\"55\" x y\nONBUILD COPY --chown=c`:d x y\n")
    assert df.nodes[1].flags == ["--mount=type=bind,source=C:\\src,target=/x"]
    assert df.nodes[2].flags == ["--chown=a:b", '--chmod=7"55']
    assert df.nodes[3].sub is not None and df.nodes[3].sub.flags == ["--chown=c:d"]
    assert split_command("COPY --chown=a`:b\\c x y", "`") == ("COPY", ["--chown=a:b\\c"], "x y")
    assert split_command("COPY --chown=a`:b\\c x y") == ("COPY", ["--chown=a`:bc"], "x y")


def test_flags_under_the_backtick_escape_reach_the_instructions() -> None:
    bf = load("# escape=`\nFROM a\nRUN --mount=type=bind,source=C:\\src,target=/x true\nCOPY --chown=a`:b x y\n")
    run, copy = bf.stages[0].instructions
    assert isinstance(run, RunInstr) and run.mounts[0].raw["source"] == "C:\\src"
    assert isinstance(copy, CopyInstr) and copy.chown == "a:b"


def test_parse_words() -> None:
    assert parse_words('a "b c" \'d e\' f\\ g', "\\") == ["a", '"b c"', "'d e'", "f\\ g"]
    assert parse_words('x=""', "\\") == ['x=""']
    assert parse_words("a`  b", "`") == ["a` ", "b"]


def test_healthcheck_form() -> None:
    n = nodes('FROM a\nHEALTHCHECK --interval=5s CMD ["curl", "x"]\n')[1]
    assert n.args == ["CMD", "curl", "x"] and n.json and n.flags == ["--interval=5s"]


def test_onbuild_sub_command() -> None:
    n = nodes("FROM a\nONBUILD RUN echo hi\n")[1]
    assert n.args == ["RUN", "echo hi"]
    assert n.sub is not None and n.sub.keyword == "RUN"


# -- heredocs ----------------------------------------------------------------------------


def test_heredoc_run() -> None:
    n = nodes("FROM a\nRUN <<EOF\necho a\necho b\nEOF\nRUN c\n")[1]
    assert n.heredocs[0].name == "EOF" and n.heredocs[0].content == "echo a\necho b\n"
    assert n.heredocs[0].expand
    assert (n.start_line, n.end_line) == (2, 5)


def test_heredoc_quoted_delimiter_means_no_expansion() -> None:
    for word in ("<<'EOF'", '<<"EOF"', "<<E'O'F"):
        n = nodes(f"FROM a\nRUN cat {word}\n$X\nEOF\n")[1]
        assert not n.heredocs[0].expand, word
        assert n.heredocs[0].name == "EOF"


def test_heredoc_chomp() -> None:
    n = nodes("FROM a\nRUN <<-EOF\n\techo a\n\t\techo b\n\tEOF\n")[1]
    assert n.heredocs[0].chomp
    assert n.heredocs[0].content == "\techo a\n\t\techo b\n"
    assert n.heredocs[0].text() == "echo a\necho b\n"


def test_several_heredocs_on_one_line() -> None:
    n = nodes("FROM a\nCOPY <<A <<B /dest/\na\nA\nb\nB\n")[1]
    assert [(h.name, h.content) for h in n.heredocs] == [("A", "a\n"), ("B", "b\n")]


@pytest.mark.parametrize("line,name,expand", [
    ("RUN << EOF", "EOF", True),
    ("RUN <<\t EOF", "EOF", True),
    ("RUN cat <<  'EOF' > /f", "EOF", False),
    ("RUN 3<< EOF", "EOF", True),
    ("RUN << -EOF", "-EOF", True),  # the blank ends the <<: the "-" belongs to the name
    ("COPY << EOF /dst", "EOF", True),
])
def test_heredoc_with_blanks_after_the_operator(line: str, name: str, expand: bool) -> None:
    # BuildKit's lexer keeps the blanks after "<<" in its word, and reHeredoc skips them.
    n = nodes(f"FROM a\n{line}\nhello\n{name}\nRUN b\n")[1]
    assert [(h.name, h.content, h.expand, h.chomp) for h in n.heredocs] == [(name, "hello\n", expand, False)]
    assert (n.start_line, n.end_line) == (2, 4)


def test_heredoc_with_blanks_runs_as_a_heredoc() -> None:
    r = one("RUN << EOF\necho hi\nEOF")
    assert isinstance(r, RunInstr) and r.cmd == ["<< EOF"]
    assert [(f.name, f.content) for f in r.files] == [("EOF", "echo hi\n")]
    doc = parse_heredoc(r.cmd[0])  # how the builder tells a lone heredoc from a command using one
    assert doc is not None and doc.name == "EOF"


def test_chomp_heredoc_with_a_blank_is_not_a_heredoc() -> None:
    # "<<-" is a word of its own (the lexer only keeps blanks right after "<<"), so
    # "<<- EOF" opens nothing and the next lines are instructions, as in BuildKit.
    ns = nodes("FROM a\nRUN cat <<- EOF\nhello\nEOF\n")
    assert ns[1].heredocs == [] and ns[1].args == ["cat <<- EOF"]
    assert [n.keyword for n in ns] == ["FROM", "RUN", "HELLO", "EOF"]
    with pytest.raises(DockerfileError, match="unknown instruction: HELLO") as exc:
        load("FROM a\nRUN cat <<- EOF\nhello\nEOF\n")
    assert exc.value.line == 3
    # Without the blank it is the tab-stripping heredoc.
    n = nodes("FROM a\nRUN cat <<-EOF\n\thello\n\tEOF\n")[1]
    assert [(h.name, h.chomp) for h in n.heredocs] == [("EOF", True)]


def test_parse_heredoc_word_with_blanks() -> None:
    # A single word is matched against reHeredoc, whose \s* follows the "-" too.
    for word, name, chomp in (("<< EOF", "EOF", False), ("<<- EOF", "EOF", True), ("<<\tEOF", "EOF", False)):
        doc = parse_heredoc(word)
        assert doc is not None and (doc.name, doc.chomp) == (name, chomp), word
    for word in ("<< ", "<<", "<<-", "<EOF", "<< <EOF", "\u0663<<EOF"):  # Go's \d is ASCII
        assert parse_heredoc(word) is None, word


def test_heredoc_with_fd() -> None:
    h = parse_heredoc("3<<EOF")
    assert h is not None and h.fd == 3 and h.name == "EOF"


def test_heredoc_not_in_json_form_nor_other_instructions() -> None:
    assert nodes('FROM a\nRUN ["cat", "<<EOF"]\n')[1].heredocs == []
    assert nodes("FROM a\nENV A=<<EOF\n")[1].heredocs == []


def test_unterminated_heredoc() -> None:
    with pytest.raises(DockerfileError, match="unterminated heredoc") as exc:
        parse("FROM a\nRUN <<EOF\necho\n")
    assert exc.value.line == 2


def test_heredoc_in_onbuild() -> None:
    bf = load("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n")
    instr = bf.stages[0].instructions[0]
    assert isinstance(instr, OnbuildInstr)
    assert instr.expression == "RUN <<EOF\necho hi\nEOF"


# -- instructions -------------------------------------------------------------------------


def test_stages_and_meta_args() -> None:
    bf = load("ARG V=1\nFROM a:${V} AS Builder\nRUN x\nFROM --platform=linux/amd64 scratch\nCOPY --from=builder a b\n")
    assert [a.args[0].key for a in bf.meta_args] == ["V"]
    assert [(s.base, s.name, s.platform) for s in bf.stages] == [("a:${V}", "builder", ""),
                                                                 ("scratch", "", "linux/amd64")]
    assert len(bf.stages[0].instructions) == 1


def test_missing_from() -> None:
    with pytest.raises(DockerfileError, match="no build stage in current context") as exc:
        load("RUN echo\n")
    assert exc.value.line == 1
    with pytest.raises(DockerfileError, match="no build stage"):
        load("ARG A\n")


def test_unknown_instruction_names_line() -> None:
    with pytest.raises(DockerfileError) as exc:
        load("FROM a\nRUN x\nFOO bar\n", "build/Dockerfile")
    assert exc.value.line == 3
    assert str(exc.value) == "build/Dockerfile:3: unknown instruction: FOO"


def test_unknown_instruction_suggestion() -> None:
    with pytest.raises(DockerfileError, match="did you mean copy"):
        load("FROM a\nCOPPY a b\n")


@pytest.mark.parametrize("text,message", [
    ("FROM a b", "FROM requires either one or three arguments"),
    ("FROM a AS 1x", "invalid name for build stage"),
    ("FROM a AS b\nFROM c AS b", "duplicate stage name"),
    ("FROM a\nCOPY x", "COPY requires at least two arguments"),
    ("FROM a\nADD x", "ADD requires at least two arguments"),
    ("FROM a\nCOPY --bogus=1 a b", "Unknown flag: bogus"),
    ("FROM a\nCOPY --from a b", "Missing a value on flag: from"),
    ("FROM a\nCOPY --from=x --from=y a b", "Duplicate flag specified: from"),
    ("FROM a\nCOPY --link=maybe a b", "Expecting boolean value for flag link, not: maybe"),
    ("FROM a\nCOPY --link= a b", "Missing a value on flag: link"),
    ("FROM a\nRUN --mount=type=nope,target=/x true", 'unsupported mount type "nope"'),
    ("FROM a\nRUN --mount=target true", "must be a key=value pair"),
    ("FROM a\nRUN --mount=type=bind,mode=0700,target=/x true", 'mode not allowed for "bind" type mounts'),
    ("FROM a\nRUN --mount=type=tmpfs,sharing=locked,target=/x true", "invalid cache sharing set"),
    ("FROM a\nRUN --mount=type=cache,from=$X,target=/x true", "doesn't support variable expansion"),
    ("FROM a\nRUN --network=bridge2 true", "unsupported network mode"),
    ("FROM a\nENV", "ENV requires at least one argument"),
    ("FROM a\nLABEL", "LABEL requires at least one argument"),
    ("FROM a\nARG", "ARG requires at least one argument"),
    ("FROM a\nARG =x", "ARG names can not be blank"),
    ("FROM a\nWORKDIR", "WORKDIR requires exactly one argument"),
    ("FROM a\nUSER", "USER requires exactly one argument"),
    ("FROM a\nSTOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
    ("FROM a\nEXPOSE", "EXPOSE requires at least one argument"),
    ("FROM a\nVOLUME", "VOLUME requires at least one argument"),
    ('FROM a\nVOLUME [""]', "VOLUME specified can not be an empty string"),
    ("FROM a\nSHELL /bin/bash -c", "SHELL requires the arguments to be in JSON form"),
    ("FROM a\nSHELL []", "SHELL requires at least one argument"),
    ("FROM a\nONBUILD", "ONBUILD requires at least one argument"),
    ("FROM a\nONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM a\nONBUILD FROM b", "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM a\nONBUILD MAINTAINER b", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM a\nHEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("FROM a\nHEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("FROM a\nHEALTHCHECK FOO x", 'Unknown type "FOO" in HEALTHCHECK'),
    ("FROM a\nHEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("FROM a\nHEALTHCHECK --retries=0 CMD x", "--retries must be at least 1"),
    ("FROM a\nHEALTHCHECK --interval=1ns CMD x", "cannot be less than 1ms"),
    ("FROM a\nHEALTHCHECK --interval=abc CMD x", "invalid duration"),
    ("FROM a\nCOPY <<EOF <<EOF2\nx\nEOF\ny\nEOF2\n", "cannot accept a heredoc as a destination"),
    ("FROM a\nMAINTAINER", "MAINTAINER requires exactly one argument"),
    ("FROM a\nENV --x=1 A=b", "Unknown flag: x"),
])
def test_instruction_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as exc:
        load(text + "\n")
    assert message in str(exc.value)
    assert exc.value.line >= 1


def test_env_and_label_pairs() -> None:
    e = one('ENV A=1 B="x y"')
    assert isinstance(e, EnvInstr) and [(p.key, p.value) for p in e.pairs] == [("A", "1"), ("B", '"x y"')]
    lab = one("LABEL a=b")
    assert isinstance(lab, LabelInstr) and lab.pairs[0].key == "a"


def test_arg_declarations() -> None:
    a = one("ARG A B=2 C=")
    assert isinstance(a, ArgInstr)
    assert [(d.key, d.default) for d in a.args] == [("A", None), ("B", "2"), ("C", "")]


def test_run_forms() -> None:
    r = one("RUN echo hi")
    assert isinstance(r, RunInstr) and r.cmd == ["echo hi"] and r.prepend_shell
    r = one('RUN ["echo", "hi"]')
    assert r.cmd == ["echo", "hi"] and not r.prepend_shell


def test_run_mounts_and_network() -> None:
    r = one("RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked --mount=type=secret,id=tok "
            "--network=none true")
    assert isinstance(r, RunInstr)
    assert r.network == "none"
    assert [(m.type, m.raw.get("target"), m.raw.get("id")) for m in r.mounts] == [("cache", "/root/.cache", "pip"),
                                                                                 ("secret", None, "tok")]


def test_parse_mount_with_expansion() -> None:
    m = parse_mount("type=cache,target=$T,id=x,uid=1000,mode=0700", lambda v: v.replace("$T", "/c"))
    assert (m.type, m.target, m.id, m.uid, m.mode, m.readonly, m.sharing) == ("cache", "/c", "x", 1000, 0o700,
                                                                               False, "shared")
    m = parse_mount("type=bind,src=a,dst=/b,rw", lambda v: v)
    assert (m.source, m.target, m.readonly) == ("a", "/b", False)
    m = parse_mount("type=bind,target=/b", lambda v: v)
    assert m.readonly
    m = parse_mount("type=secret,id=x,required", lambda v: v)
    assert m.required
    with pytest.raises(ValueError, match="both source and id"):
        parse_mount("type=secret,source=a,id=b", lambda v: v)
    with pytest.raises(ValueError, match="invalid value x for uid"):
        parse_mount("type=cache,target=/a,uid=x", lambda v: v)
    with pytest.raises(ValueError, match="unexpected key 'bogus'"):
        parse_mount("type=cache,target=/a,bogus=1", lambda v: v)


def test_cmd_entrypoint() -> None:
    c = one("CMD echo hi")
    assert isinstance(c, CmdInstr) and c.cmd == ["echo hi"] and c.prepend_shell
    e = one("ENTRYPOINT []")
    assert e.cmd is None
    c = one("CMD")
    assert c.cmd == []


def test_copy_and_add_flags() -> None:
    c = one("COPY --from=b --chown=u:g --chmod=0755 --link --parents --exclude=*.md --exclude=x a b /d/")
    assert isinstance(c, CopyInstr)
    assert (c.from_, c.chown, c.chmod, c.link, c.parents, c.excludes, c.sources, c.dest) == (
        "b", "u:g", "0755", True, True, ["*.md", "x"], ["a", "b"], "/d/")
    a = one("ADD --checksum=sha256:abc --chown=1 http://x/y /z")
    assert a.add and a.checksum == "sha256:abc"
    with pytest.raises(DockerfileError, match="Unknown flag: from"):
        load("FROM a\nADD --from=x a b\n")


def test_copy_heredoc_source() -> None:
    c = one("COPY <<EOF /dst\nhello $X\nEOF")
    assert isinstance(c, CopyInstr)
    assert c.sources == [] and [(f.name, f.data, f.expand) for f in c.contents] == [("EOF", "hello $X\n", True)]
    c = one("COPY <<-'EOF' /dst\n\thi\n\tEOF")
    assert [(f.data, f.expand) for f in c.contents] == [("hi\n", False)]


def test_healthcheck() -> None:
    h = one("HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --retries=4 CMD curl -f x")
    assert isinstance(h, HealthcheckInstr)
    assert h.test == ["CMD-SHELL", "curl -f x"]
    assert (h.interval, h.timeout, h.start_period, h.retries) == (5 * 10**9, 3 * 10**9, 60 * 10**9, 4)
    assert one('HEALTHCHECK CMD ["a", "b"]').test == ["CMD", "a", "b"]
    assert one("HEALTHCHECK none").test == ["NONE"]


def test_misc_instructions() -> None:
    assert isinstance(one("EXPOSE 80 443/udp"), ExposeInstr)
    assert one("EXPOSE 8080 80").ports == ["80", "8080"]
    v = one('VOLUME ["/a", "/b"]')
    assert isinstance(v, VolumeInstr) and v.volumes == ["/a", "/b"]
    assert one("VOLUME /a /b").volumes == ["/a", "/b"]
    u = one("USER app:app")
    assert isinstance(u, ValueInstr) and u.value == "app:app"
    assert one("WORKDIR /a b").value == "/a b"
    s = one('SHELL ["/bin/bash", "-c"]')
    assert isinstance(s, ShellInstr) and s.shell == ["/bin/bash", "-c"]
    m = one("MAINTAINER me <me@x>")
    assert isinstance(m, MaintainerInstr) and m.maintainer == "me <me@x>"
    o = one("ONBUILD COPY . /app")
    assert isinstance(o, OnbuildInstr) and o.expression == "COPY . /app"


def test_shared_src_dockerfiles_parse() -> None:
    import glob
    import os

    from tests.conftest import IMAGES

    files = glob.glob(os.path.join(IMAGES, "src", "*", "Dockerfile"))
    if not files:
        pytest.skip("shared image sources not available")
    for path in files:
        with open(path) as f:
            bf = load(f.read(), path)
        assert bf.stages


# -- metadata shared with commit --change -------------------------------------------------


def test_commit_changes_use_the_dockerfile_parser() -> None:
    from baleine.engine.images.commit import apply_changes
    from baleine.rules.errors import InvalidParameter

    cfg = {"Env": ["PATH=/bin", "HOME=/root"], "Cmd": ["sh"], "WorkingDir": "/srv"}
    apply_changes(cfg, ["ENV A=1 B=$HOME", 'CMD ["cat", "/file"]', "EXPOSE 80 53/udp", 'LABEL "a b"=c',
                        "WORKDIR sub", "USER app", "VOLUME /data", "STOPSIGNAL SIGTERM", "ONBUILD RUN x",
                        "HEALTHCHECK --interval=2s CMD true", 'SHELL ["/bin/bash", "-c"]', "ENTRYPOINT echo hi"])
    assert cfg["Env"] == ["PATH=/bin", "HOME=/root", "A=1", "B=/root"]
    assert cfg["Cmd"] == ["cat", "/file"]  # set in the same change list: ENTRYPOINT keeps it
    assert cfg["Entrypoint"] == ["/bin/bash", "-c", "echo hi"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"a b": "c"}
    assert cfg["WorkingDir"] == "/srv/sub"
    assert (cfg["User"], cfg["Volumes"], cfg["StopSignal"], cfg["OnBuild"]) == ("app", {"/data": {}}, "SIGTERM",
                                                                                ["RUN x"])
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000}
    cfg = {"Cmd": ["sh"]}
    apply_changes(cfg, ["ENTRYPOINT [\"top\"]"])
    assert cfg["Entrypoint"] == ["top"] and cfg["Cmd"] is None
    for bad, message in (("FROM x", "FROM is not a valid change command"),
                         ("RUN x", "RUN is not a valid change command"),
                         ("ENV", "ENV requires at least one argument"),
                         ("EXPOSE abc", "invalid containerPort"),
                         ("STOPSIGNAL NOPE", "invalid signal")):
        with pytest.raises(InvalidParameter, match=message):
            apply_changes({}, [bad])
