"""Fill forum/translations/{fr,es} from JSON batches: {"<msgid or index>": [fr, es]} where a
plural entry gives [[fr one, fr other], [es one, es other]] (a one-off helper for the catalogs'
first fill; later changes are made in the .po files themselves).

Usage: python tools/apply_translations.py IDS.json BATCH.json [BATCH.json ...]
(IDS.json lists the msgids the numeric keys index; a key that is not a number is the msgid.)"""

from __future__ import annotations

import json
import sys

from babel.messages.pofile import read_po, write_po

DIR = "forum/translations"


def main(ids_file: str, batches: list[str]) -> None:
    ids = json.load(open(ids_file, encoding="utf-8"))
    wanted: dict[object, list] = {}
    for batch in batches:
        for key, value in json.load(open(batch, encoding="utf-8")).items():
            msgid = ids[int(key)] if key.isdigit() else key
            wanted[msgid if isinstance(msgid, str) else tuple(msgid)] = value
    for n, lang in enumerate(("fr", "es")):
        path = f"{DIR}/{lang}/LC_MESSAGES/messages.po"
        with open(path, "rb") as handle:
            catalog = read_po(handle, locale=lang)
        filled = 0
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else tuple(message.id)
            if key in wanted:
                value = wanted[key][n]
                if isinstance(message.id, (list, tuple)):
                    one, other = value if isinstance(value, list) else (value, value)
                    message.string = (one, other)
                else:
                    message.string = value
                message.flags.discard("fuzzy")
                filled += 1
        with open(path, "wb") as handle:
            write_po(handle, catalog, width=100, sort_by_file=True)
        print(lang, filled, "filled")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
