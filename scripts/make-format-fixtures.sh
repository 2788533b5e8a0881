#!/usr/bin/env bash
# Regenerates tests/fixtures/formats/: each corpus document (.txt / .md) converted once into
# .html, .docx, .odt and .pdf, plus a copy of the original. The outputs are committed; this
# script is NOT run in CI. See tests/fixtures/formats/README.md for what it does and why.
#
# Usage: scripts/make-format-fixtures.sh [CORPUS_DIR]
#   CORPUS_DIR defaults to ../shared/corpus/docs beside the repository, and falls back to the
#   originals already committed in tests/fixtures/formats/.
#
# Tools (Debian 12 packages): pandoc, libreoffice-writer-nogui (soffice --headless),
# poppler-utils (pdftotext, for the checks), fonts-dejavu-core, python3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/tests/fixtures/formats"
src="${1:-$root/../shared/corpus/docs}"
[ -d "$src" ] || src="$out"
src="$(cd "$src" && pwd)"

need=()
command -v pandoc >/dev/null || need+=(pandoc)
command -v soffice >/dev/null || need+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v python3 >/dev/null || need+=(python3)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

echo "pandoc:    $(pandoc --version | head -n1)"
echo "soffice:   $(soffice --version | head -n1)"
echo "pdftotext: $(pdftotext -v 2>&1 | head -n1)"
echo "python3:   $(python3 --version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Fixed zip timestamps inside the .docx/.odt that pandoc writes (the PDF still carries
# LibreOffice's creation date).
export SOURCE_DATE_EPOCH=1704067200 # 2024-01-01T00:00:00Z

# Pandoc reads the HTML <title> into the document's metadata and would print it as a Title
# paragraph at the top of the .docx/.odt; the originals have no such line, so drop it.
cat >"$work/drop-title.lua" <<'LUA'
function Meta(m)
  m.title = nil
  m.pagetitle = nil
  return m
end
LUA

# .txt -> standalone HTML: one <p> per non-empty line (text HTML-escaped, so stray "<i>" stays
# visible text), each run of consecutive lines containing a TAB -> one <table>, one <tr> per
# line, one <td> per TAB-separated field (empty fields kept as empty cells; a change in the
# number of fields starts a new table), with a <colgroup> of column widths.
# .md -> the same Markdown with each run of TAB lines replaced by such a raw HTML <table>
# block, for pandoc to turn into HTML.
cat >"$work/prep.py" <<'PY'
import html, sys

def table(rows):
    # Column widths in proportion to each column's longest field (capped), as a secretary's
    # table would have them; without them the converters give every column the same width.
    weights = [min(max(len(r[i].strip()) for r in rows), 40) + 10 for i in range(len(rows[0]))]
    widths = [round(100 * w / sum(weights)) for w in weights]
    out = ["<table>", "<colgroup>" + "".join('<col style="width: %d%%">' % w for w in widths) + "</colgroup>"]
    for cells in rows:
        out.append("<tr>" + "".join("<td>%s</td>" % html.escape(c.strip(), quote=False) for c in cells) + "</tr>")
    out.append("</table>")
    return out

def blocks(lines):
    """Yields ("table", rows) for runs of TAB lines of equal width, ("line", text) otherwise."""
    rows = []
    for line in lines:
        if "\t" in line:
            cells = line.split("\t")
            if rows and len(rows[0]) != len(cells):
                yield "table", rows
                rows = []
            rows.append(cells)
            continue
        if rows:
            yield "table", rows
            rows = []
        yield "line", line
    if rows:
        yield "table", rows

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().replace("\r\n", "\n").replace("\r", "\n").split("\n")

mode, src, dst, title = sys.argv[1:5]
lines = read(src)
body = []
for kind, value in blocks(lines):
    if kind == "table":
        if mode == "md":
            body += [""] + table(value) + [""]
        else:
            body += table(value)
    elif mode == "md":
        body.append(value)
    elif value.strip():
        body.append("<p>%s</p>" % html.escape(value.strip(), quote=False))
if mode == "md":
    text = "\n".join(body) + "\n"
else:
    text = ('<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
            "<title>%s</title>\n</head>\n<body>\n%s\n</body>\n</html>\n"
            % (html.escape(title), "\n".join(body)))
with open(dst, "w", encoding="utf-8") as f:
    f.write(text)
PY

shopt -s nullglob
docs=("$src"/*.txt "$src"/*.md)
[ ${#docs[@]} -gt 0 ] || { echo "no .txt/.md documents in $src" >&2; exit 1; }

for doc in "${docs[@]}"; do
    name="$(basename "$doc")"
    stem="${name%.*}"
    ext="${name##*.}"
    echo "== $name"
    [ "$doc" -ef "$out/$name" ] || cp "$doc" "$out/$name"

    # 1. original -> HTML
    if [ "$ext" = md ]; then
        python3 "$work/prep.py" md "$doc" "$work/$stem.md" "$stem"
        pandoc -f markdown-smart-markdown_in_html_blocks -t html5 -s --wrap=none --metadata pagetitle="$stem" --metadata lang=sv \
            -o "$out/$stem.html" "$work/$stem.md"
    else
        python3 "$work/prep.py" txt "$doc" "$out/$stem.html" "$stem"
    fi

    # 2. HTML -> .docx and .odt
    pandoc -f html -t docx --lua-filter "$work/drop-title.lua" -o "$out/$stem.docx" "$out/$stem.html"
    pandoc -f html -t odt --lua-filter "$work/drop-title.lua" -o "$out/$stem.odt" "$out/$stem.html"

    # 3. .docx -> .pdf (LibreOffice's Writer PDF export; real text layer)
    soffice -env:UserInstallation="file://$work/lo-profile" --headless \
        --convert-to pdf --outdir "$work" "$out/$stem.docx" >/dev/null
    mv "$work/$stem.pdf" "$out/$stem.pdf"
done

# Checks: tables are real tables, the PDF has a text layer, åäö and "–" survive, sizes.
count() { { grep -o "$1" || true; } | wc -l; }
fail=0
for doc in "${docs[@]}"; do
    name="$(basename "$doc")"
    stem="${name%.*}"
    tabs=$(grep -c $'\t' "$doc" || true)
    docx_xml="$(unzip -p "$out/$stem.docx" word/document.xml)"
    odt_xml="$(unzip -p "$out/$stem.odt" content.xml)"
    pdf_txt="$(pdftotext -enc UTF-8 "$out/$stem.pdf" -)"
    rows_html=$(count '<tr[ >]' <"$out/$stem.html")
    rows_docx=$(count '<w:tr[ >]' <<<"$docx_xml")
    rows_odt=$(count '<table:table-row[ >]' <<<"$odt_xml")
    echo "$stem: TAB lines $tabs, table rows html $rows_html docx $rows_docx odt $rows_odt"
    for n in "$rows_html" "$rows_docx" "$rows_odt"; do
        [ "$n" -eq "$tabs" ] || { echo "  table rows do not match the TAB lines" >&2; fail=1; }
    done
    for ch in å ä ö –; do
        if grep -q "$ch" "$doc"; then
            for f in html docx odt pdf; do
                case $f in
                    html) hay="$(cat "$out/$stem.html")" ;;
                    docx) hay="$docx_xml" ;;
                    odt) hay="$odt_xml" ;;
                    pdf) hay="$pdf_txt" ;;
                esac
                grep -q "$ch" <<<"$hay" || { echo "  '$ch' lost in .$f" >&2; fail=1; }
            done
        fi
    done
    [ "$(wc -w <<<"$pdf_txt")" -gt 100 ] || { echo "  PDF has no text layer" >&2; fail=1; }
    for f in "$out/$stem".{html,docx,odt,pdf}; do
        [ "$(stat -c %s "$f")" -lt 204800 ] || { echo "  $f is 200 KB or more" >&2; fail=1; }
    done
done
ls -l "$out"
exit $fail
