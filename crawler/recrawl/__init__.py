"""Incremental recrawl of a named job: conditional requests and a crawl DB per job.

A job (``JOB_NAME``) crawled again and again keeps, in ``<PROVENANCE_DIR>/.jobs/<job>/``, what
each URL answered last time (:mod:`crawler.recrawl.store`). A later run asks each known page
"changed since?" (:mod:`crawler.recrawl.middleware`), skips what answered ``304`` and
schedules the known pages again besides the seeds (:mod:`crawler.recrawl.spidermw`), since an
unchanged page's links are not read again. The policy files are never asked conditionally,
and every request still passes the gate first: an earlier allow is never trusted. What an
earlier run collected from origins that have since opted out is listed by
:func:`crawler.recrawl.takedown.takedowns_for_job`.
"""
