#!/bin/sh
# Writes the man pages gatehouse(8), gatehouse.conf(5) and
# gatehouse-lists(8) from README.md, their one source, at build time:
# gatehouse(8) is README's "Command line" and "Monitoring" sections,
# gatehouse.conf(5) its "Configuration reference", gatehouse-lists(8) its
# "Keeping the lists current", turned from Markdown into man(7) roff by the awk below (the
# Markdown the README uses: headings, paragraphs, lists, code blocks,
# tables, `code`, **bold** and links).  So a setting documented in README
# is in the man page, and the two cannot drift.
#
# Usage: sh packaging/man.sh README.md OUTDIR VERSION
set -eu

readme=$1
out=$2
version=$3
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$readme")}" +%Y-%m-%d)
mkdir -p "$out"

# section FROM TO: README's lines from the heading FROM up to (not
# including) the heading TO.
section() {
    awk -v from="$1" -v to="$2" '
        $0 == from { on = 1; next }
        $0 == to { on = 0 }
        on' "$readme"
}

# Markdown on stdin to roff on stdout.
md2roff() {
    awk '
    function esc(s) {
        gsub(/\\/, "\\e", s)
        return s
    }
    function inline(s,   out, i, c, n) {
        s = esc(s)
        gsub(/<!--[^>]*-->/, "", s)
        # links [text](url): the text, then the url
        while (match(s, /\[[^]]*\]\([^)]*\)/)) {
            c = substr(s, RSTART, RLENGTH)
            n = index(c, "](")
            s = substr(s, 1, RSTART - 1) substr(c, 2, n - 2) " <" substr(c, n + 2, length(c) - n - 2) ">" substr(s, RSTART + RLENGTH)
        }
        gsub(/\*\*/, "\001", s)
        out = ""; i = 0
        while ((n = index(s, "\001")) > 0) {
            out = out substr(s, 1, n - 1) (i++ % 2 ? "\\fR" : "\\fB")
            s = substr(s, n + 1)
        }
        s = out s
        out = ""; i = 0
        while ((n = index(s, "`")) > 0) {
            out = out substr(s, 1, n - 1) (i++ % 2 ? "\\fR" : "\\fB")
            s = substr(s, n + 1)
        }
        s = out s
        return s
    }
    function line(s) {
        # a line may not start with a control character
        if (s ~ /^[.\047]/) s = "\\&" s
        print s
    }
    function para() {
        if (pending) { print ".PP"; pending = 0 }
    }
    function cells(s, arr,   n, i) {
        sub(/^ *\| */, "", s); sub(/ *\| *$/, "", s)
        n = split(s, arr, / *\| */)
        return n
    }
    BEGIN { pending = 0; code = 0; header = 0 }
    /^```/ {
        if (!code) { para(); print ".PP"; print ".RS 4"; print ".nf"; code = 1 }
        else { print ".fi"; print ".RE"; code = 0; pending = 1 }
        next
    }
    code { line(esc($0)); next }
    /^<!--.*-->$/ { next }
    /^#### / { sub(/^#### /, ""); print ".SS \"" inline($0) "\""; pending = 0; next }
    /^### / { sub(/^### /, ""); print ".SS \"" inline($0) "\""; pending = 0; next }
    /^## / { sub(/^## /, ""); print ".SH \"" toupper(inline($0)) "\""; pending = 0; next }
    /^\|/ {
        if (!intable) { intable = 1; nh = cells($0, head); para(); next }
        if ($0 ~ /^\| *-/) next
        n = cells($0, c)
        print ".TP"
        line(inline(c[1]))
        extra = ""
        for (i = 2; i < n; i++)
            if (c[i] != "") extra = extra (extra ? "; " : "") head[i] ": " c[i]
        if (extra != "") { line(inline(extra) "."); print ".br" }
        if (n > 1) line(inline(c[n]))
        next
    }
    { if (intable) { intable = 0; pending = 1 } }
    /^ *$/ { pending = 1; inlist = 0; next }
    /^ *- / {
        depth = match($0, /[^ ]/) - 1
        sub(/^ *- /, "")
        print ".IP \\(bu " (depth > 0 ? 6 : 2)
        line(inline($0)); inlist = 1; pending = 0; next
    }
    /^[0-9]+\. / {
        n = $0; sub(/\..*/, "", n); sub(/^[0-9]+\. /, "")
        print ".IP " n ". 4"
        line(inline($0)); inlist = 1; pending = 0; next
    }
    {
        s = $0; sub(/^ +/, "", s)
        if (!inlist) para()
        line(inline(s))
    }'
}

{
    printf '.TH GATEHOUSE 8 "%s" "gatehouse %s" "System Administration"\n' "$date" "$version"
    echo '.SH NAME'
    echo 'gatehouse \- HTTP forward and reverse proxy daemon'
    echo '.SH SYNOPSIS'
    echo '.B gatehouse'
    echo '[\fB\-c\fR \fIfile\fR] [\fB\-t\fR] [\fB\-q\fR] [\fB\-f\fR] [\fB\-r\fR \fIpid\fR] [\fB\-V\fR] [\fB\-h\fR]'
    echo '.SH DESCRIPTION'
    echo 'Gatehouse is one daemon that works as two proxies: each listener is either a'
    echo '\fBforward\fR gateway that a school or office points its browsers and apt at, or a'
    echo '\fBreverse\fR front door that routes a site to pools of origin servers.'
    echo 'Its configuration is described in'
    echo '.BR gatehouse.conf (5).'
    echo '.SH OPTIONS'
    section "## Command line" "## A five-minute tour" | md2roff
    section "## Monitoring" "## Layout" | md2roff
    echo '.SH FILES'
    echo '.TP'
    echo '.I /etc/gatehouse/gatehouse.conf'
    echo 'The configuration file.'
    echo '.TP'
    echo '.I /etc/gatehouse/conf.d/*.conf'
    echo 'Drop-ins, read in name order.'
    echo '.TP'
    echo '.I /var/log/gatehouse/'
    echo 'Log files, when the configuration names them there.'
    echo '.TP'
    echo '.I /usr/share/doc/gatehouse/'
    echo 'README.md, the example configurations and the filter list formats.'
    echo '.SH SEE ALSO'
    echo '.BR gatehouse.conf (5),'
    echo '.BR systemctl (1),'
    echo '.BR logrotate (8)'
} > "$out/gatehouse.8"

{
    printf '.TH GATEHOUSE.CONF 5 "%s" "gatehouse %s" "File Formats"\n' "$date" "$version"
    echo '.SH NAME'
    echo 'gatehouse.conf \- configuration of the gatehouse proxy'
    echo '.SH DESCRIPTION'
    section "## Configuration reference" "## Monitoring" | md2roff
    echo '.SH SEE ALSO'
    echo '.BR gatehouse (8)'
} > "$out/gatehouse.conf.5"

{
    printf '.TH GATEHOUSE-LISTS 8 "%s" "gatehouse %s" "System Administration"\n' "$date" "$version"
    echo '.SH NAME'
    echo 'gatehouse-lists \- update the category lists of the gatehouse proxy'
    echo '.SH SYNOPSIS'
    echo '.B gatehouse-lists update'
    echo '.SH DESCRIPTION'
    section "#### Keeping the lists current" "### \`pools\` (reverse mode)" | md2roff
    echo '.SH FILES'
    echo '.TP'
    echo '.I /etc/gatehouse/lists.conf'
    echo 'The settings above.'
    echo '.SH SEE ALSO'
    echo '.BR gatehouse (8),'
    echo '.BR gatehouse.conf (5)'
} > "$out/gatehouse-lists.8"
