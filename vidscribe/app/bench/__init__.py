"""`vidscribe bench`: the throughput benchmark of issue #4.

A corpus of real speech (`corpus`) is served as a podcast feed on 127.0.0.1, throttled like a real host
(`feed_server`); the same corpus then goes through the predecessor's design, one video at a time with models
loaded per video (`baseline`), and through the real `backfill-channel` flow against a private Prefect API and
database (`pipeline`, `sandbox`); `report` compares the two. `run` ties them together.
"""

#: 64 KiB/s: the rate YouTube throttles a download to when the client does not answer its "n" challenge
#: (reports put it at 40-80 KB/s, e.g. yt-dlp issue #430: "stuck around 69 KB/sec"); a slow podcast CDN is in
#: the same range. At the corpus's 48 kbit/s MP3s a 5-minute episode then takes about 27 s to download.
DEFAULT_BYTES_PER_SECOND = 64 * 1024
