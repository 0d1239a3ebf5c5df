"""Plain extraction functions: bytes and markup in, drafts and items out, no Scrapy.

``jsonld``, ``microdata``, ``rdfa``, ``opengraph`` and ``feeds`` read one syntax each;
``nodes`` reads schema.org recordings whatever syntax carried them; ``page`` combines a
page's syntaxes; ``draft`` merges drafts and builds recordings; ``audio`` reads tags from
byte ranges; ``lyrics`` and ``lyricsitems`` turn lyrics into metadata and hashes;
``identifiers``, ``licences`` and ``values`` validate and normalise values. See
docs/metadata.md.
"""
