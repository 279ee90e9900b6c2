"""Unit tests for baleine.rules.timestamps.

Tables marked "observed from Go" hold the output of Go's time package and of
moby's timetypes.GetTimestamp / ParseTimestamps on each input.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from baleine.rules import timestamps
from baleine.rules.errors import InvalidParameter
from baleine.rules.timestamps import (
    ZERO_TIME,
    ZERO_TIME_UNIX,
    format_rfc3339nano,
    format_rfc3339nano_ns,
    get_timestamp,
    is_zero_time,
    now_rfc3339nano,
    parse_rfc3339,
    parse_rfc3339_ns,
    parse_since,
    parse_timestamps,
)

# fmt: off
# Observed from Go (now = unix seconds; offset = the reference zone, seconds east).
GET_TIMESTAMP = [
    (('2006-01-02T15:04:05.999999999+07:00', 1700000000.5, 0), '1136189045.999999999', None),
    (('2006-01-02T15:04:05.999999999Z', 1700000000.5, 0), '1136214245.999999999', None),
    (('2006-01-02T15:04:05.999999999', 1700000000.5, 0), '1136214245.999999999', None),
    (('2006-01-02T15:04:05Z', 1700000000.5, 0), '1136214245.000000000', None),
    (('2006-01-02T15:04:05', 1700000000.5, 0), '1136214245.000000000', None),
    (('2006-01-02T15:04:0Z', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:04:0Z" as "2006-01-02T15:04:05Z07:00": cannot parse "0Z" as "05"'),
    (('2006-01-02T15:04:0', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:04:0" as "2006-01-02T15:04:05": cannot parse "0" as "05"'),
    (('2006-01-02T15:04Z', 1700000000.5, 0), '1136214240.000000000', None),
    (('2006-01-02T15:04+00:00', 1700000000.5, 0), '1136214240.000000000', None),
    (('2006-01-02T15:04-00:00', 1700000000.5, 0), '1136214240.000000000', None),
    (('2006-01-02T15:04', 1700000000.5, 0), '1136214240.000000000', None),
    (('2006-01-02T15:0Z', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:0Z" as "2006-01-02T15:04Z07:00": cannot parse "0Z" as "04"'),
    (('2006-01-02T15:0', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:0" as "2006-01-02T15:04": cannot parse "0" as "04"'),
    (('2006-01-02T15Z', 1700000000.5, 0), '1136214000.000000000', None),
    (('2006-01-02T15+00:00', 1700000000.5, 0), '1136214000.000000000', None),
    (('2006-01-02T15-00:00', 1700000000.5, 0), '1136214000.000000000', None),
    (('2006-01-02T15', 1700000000.5, 0), '1136214000.000000000', None),
    (('2006-01-02T1Z', 1700000000.5, 0), '1136163600.000000000', None),
    (('2006-01-02T1', 1700000000.5, 0), '1136163600.000000000', None),
    (('2006-01-02TZ', 1700000000.5, 0), None, 'parsing time "2006-01-02TZ" as "2006-01-02T15Z07:00": cannot parse "Z" as "15"'),
    (('2006-01-02T', 1700000000.5, 0), None, 'parsing time "2006-01-02T" as "2006-01-02T15": cannot parse "" as "15"'),
    (('2006-01-02+00:00', 1700000000.5, 0), '1136160000.000000000', None),
    (('2006-01-02-00:00', 1700000000.5, 0), '1136160000.000000000', None),
    (('2006-01-02-00:01', 1700000000.5, 0), '1136160060.000000000', None),
    (('2006-01-02Z', 1700000000.5, 0), '1136160000.000000000', None),
    (('2006-01-02', 1700000000.5, 0), '1136160000.000000000', None),
    (('2015-05-13T20:39:09Z', 1700000000.5, 0), '1431549549.000000000', None),
    (('1136073600', 1700000000.5, 0), '1136073600', None),
    (('1136073600.000000001', 1700000000.5, 0), '1136073600.000000001', None),
    (('1136073600.0000000010', 1700000000.5, 0), '1136073600.0000000010', None),
    (('1136073600.00000001', 1700000000.5, 0), '1136073600.00000001', None),
    (('1m', 1700000000.5, 0), '1699999940', None),
    (('1.5h', 1700000000.5, 0), '1699994600', None),
    (('1h30m', 1700000000.5, 0), '1699994600', None),
    (('invalid', 1700000000.5, 0), None, 'failed to parse value as time or duration: "invalid"'),
    (('', 1700000000.5, 0), None, 'failed to parse value as time or duration: ""'),
    (('0', 1700000000.5, 0), '0', None),
    (('10m', 1700000000.5, 0), '1699999400', None),
    (('-10m', 1700000000.5, 0), '1700000600', None),
    (('0s', 1700000000.5, 0), '1700000000', None),
    (('1136073600.', 1700000000.5, 0), None, 'failed to parse value as time or duration: "1136073600."'),
    (('1136073600.bar', 1700000000.5, 0), None, 'failed to parse value as time or duration: "1136073600.bar"'),
    (('foo.bar', 1700000000.5, 0), None, 'failed to parse value as time or duration: "foo.bar"'),
    (('.5', 1700000000.5, 0), None, 'failed to parse value as time or duration: ".5"'),
    (('+5', 1700000000.5, 0), '+5', None),
    (('2006-13-01', 1700000000.5, 0), None, 'parsing time "2006-13-01": month out of range'),
    (('2006-00-01', 1700000000.5, 0), None, 'parsing time "2006-00-01": month out of range'),
    (('2006-02-29', 1700000000.5, 0), None, 'parsing time "2006-02-29": day out of range'),
    (('2004-02-29', 1700000000.5, 0), '1078012800.000000000', None),
    (('2006-02-30', 1700000000.5, 0), None, 'parsing time "2006-02-30": day out of range'),
    (('2006-01-32', 1700000000.5, 0), None, 'parsing time "2006-01-32": day out of range'),
    (('2006-01-00', 1700000000.5, 0), None, 'parsing time "2006-01-00": day out of range'),
    (('2006-01-02T24:00', 1700000000.5, 0), None, 'parsing time "2006-01-02T24:00": hour out of range'),
    (('2006-01-02T23:60', 1700000000.5, 0), None, 'parsing time "2006-01-02T23:60": minute out of range'),
    (('2006-01-02T23:59:60', 1700000000.5, 0), None, 'parsing time "2006-01-02T23:59:60": second out of range'),
    (('2006-01-02T23:59:59,5', 1700000000.5, 0), '1136246399.500000000', None),
    (('2006-01-02T23:59:59,5Z', 1700000000.5, 0), '1136246399.500000000', None),
    (('2006-01-02T23:59:59.5+24:00', 1700000000.5, 0), '1136159999.500000000', None),
    (('2006-01-02T23:59:59.5+07', 1700000000.5, 0), None, 'parsing time "2006-01-02T23:59:59.5+07" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "+07" as "Z07:00"'),
    (('2006-01-02T23:59:59.5z', 1700000000.5, 0), None, 'parsing time "2006-01-02T23:59:59.5z" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "z" as "Z07:00"'),
    (('2006-01-02t10', 1700000000.5, 0), None, 'parsing time "2006-01-02t10": extra text: "t10"'),
    (('2006-01-02T10:00:00Zjunk', 1700000000.5, 0), None, 'parsing time "2006-01-02T10:00:00Zjunk": extra text: "junk"'),
    (('2006-01-02junk', 1700000000.5, 0), None, 'parsing time "2006-01-02junk": extra text: "junk"'),
    (('0000-01-01', 1700000000.5, 0), '-62167219200.000000000', None),
    (('9999-12-31T23:59:59.999999999Z', 1700000000.5, 0), '253402300799.999999999', None),
    (('1969-12-31T23:59:59.5Z', 1700000000.5, 0), '-1.500000000', None),
    (('2006-1-02', 1700000000.5, 0), None, 'parsing time "2006-1-02" as "2006-01-02": cannot parse "1-02" as "01"'),
    (('2006-01-2', 1700000000.5, 0), None, 'parsing time "2006-01-2" as "2006-01-02": cannot parse "2" as "02"'),
    (('2006-01-02T10:00:00.Z', 1700000000.5, 0), None, 'parsing time "2006-01-02T10:00:00.Z" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse ".Z" as "Z07:00"'),
    (('2006-01-02T10:00:00.', 1700000000.5, 0), None, 'parsing time "2006-01-02T10:00:00.": extra text: "."'),
    (('2006-01-02 10:00', 1700000000.5, 0), None, 'parsing time "2006-01-02 10:00": extra text: " 10:00"'),
    (('2006-01-02T10:00:00.5-08:00', 1700000000.5, 0), '1136224800.500000000', None),
    (('2006-01-02T10:00:00-08:00', 1700000000.5, 0), '1136224800.000000000', None),
    (('2006-01-02T10:00-08:00', 1700000000.5, 0), '1136224800.000000000', None),
    (('2006-01-02T10-08:00', 1700000000.5, 0), '1136224800.000000000', None),
    (('2006-01-02T10:00:00+0800', 1700000000.5, 0), None, 'parsing time "2006-01-02T10:00:00+0800" as "2006-01-02T15:04Z07:00": cannot parse ":00+0800" as "Z07:00"'),
    (('99999999999999999999', 1700000000.5, 0), None, 'failed to parse value as time or duration: "99999999999999999999"'),
    (('9223372036854775807', 1700000000.5, 0), '9223372036854775807', None),
    (('-9223372036854775808', 1700000000.5, 0), None, 'parsing time "-9223372036854775808" as "2006-01-02": cannot parse "-9223372036854775808" as "2006"'),
    (('1e9', 1700000000.5, 0), None, 'failed to parse value as time or duration: "1e9"'),
    (('2006-01-02T1:2:3', 1700000000.5, 0), None, 'parsing time "2006-01-02T1:2:3" as "2006-01-02T15:04:05": cannot parse "2:3" as "04"'),
    (('2006-01-02T01:02:3Z', 1700000000.5, 0), None, 'parsing time "2006-01-02T01:02:3Z" as "2006-01-02T15:04:05Z07:00": cannot parse "3Z" as "05"'),
    (('5m30.5s', 1700000000.5, 0), '1699999670', None),
    (('2006\n-01-02', 1700000000.5, 0), None, 'parsing time "2006\\x0a-01-02" as "2006-01-02": cannot parse "\\x0a-01-02" as "-"'),
    (('2006-01-02T15:04:05.5+07:00:00', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:04:05.5+07:00:00": extra text: ":00"'),
    (('2006-01-02T15:04:05+7:00', 1700000000.5, 0), None, 'parsing time "2006-01-02T15:04:05+7:00" as "2006-01-02T15:04:05Z07:00": cannot parse "+7:00" as "Z07:00"'),
    (('1700000000.123', 1700000000.5, 0), '1700000000.123', None),
    (('2024-02-29T12:00:00+05:30', 1700000000.5, 0), '1709188200.000000000', None),
    (('2023-02-29', 1700000000.5, 0), None, 'parsing time "2023-02-29": day out of range'),
    (('2006-01-02T15:04:05.999999999+07:00', 1700000000.2499998, 3600), '1136189045.999999999', None),
    (('2006-01-02T15:04:05.999999999Z', 1700000000.2499998, 3600), '1136214245.999999999', None),
    (('2006-01-02T15:04:05.999999999', 1700000000.2499998, 3600), '1136210645.999999999', None),
    (('2006-01-02T15:04:05Z', 1700000000.2499998, 3600), '1136214245.000000000', None),
    (('2006-01-02T15:04:05', 1700000000.2499998, 3600), '1136210645.000000000', None),
    (('2006-01-02T15:04:0Z', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:04:0Z" as "2006-01-02T15:04:05Z07:00": cannot parse "0Z" as "05"'),
    (('2006-01-02T15:04:0', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:04:0" as "2006-01-02T15:04:05": cannot parse "0" as "05"'),
    (('2006-01-02T15:04Z', 1700000000.2499998, 3600), '1136214240.000000000', None),
    (('2006-01-02T15:04+00:00', 1700000000.2499998, 3600), '1136214240.000000000', None),
    (('2006-01-02T15:04-00:00', 1700000000.2499998, 3600), '1136214240.000000000', None),
    (('2006-01-02T15:04', 1700000000.2499998, 3600), '1136210640.000000000', None),
    (('2006-01-02T15:0Z', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:0Z" as "2006-01-02T15:04Z07:00": cannot parse "0Z" as "04"'),
    (('2006-01-02T15:0', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:0" as "2006-01-02T15:04": cannot parse "0" as "04"'),
    (('2006-01-02T15Z', 1700000000.2499998, 3600), '1136214000.000000000', None),
    (('2006-01-02T15+00:00', 1700000000.2499998, 3600), '1136214000.000000000', None),
    (('2006-01-02T15-00:00', 1700000000.2499998, 3600), '1136214000.000000000', None),
    (('2006-01-02T15', 1700000000.2499998, 3600), '1136210400.000000000', None),
    (('2006-01-02T1Z', 1700000000.2499998, 3600), '1136163600.000000000', None),
    (('2006-01-02T1', 1700000000.2499998, 3600), '1136160000.000000000', None),
    (('2006-01-02TZ', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02TZ" as "2006-01-02T15Z07:00": cannot parse "Z" as "15"'),
    (('2006-01-02T', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T" as "2006-01-02T15": cannot parse "" as "15"'),
    (('2006-01-02+00:00', 1700000000.2499998, 3600), '1136160000.000000000', None),
    (('2006-01-02-00:00', 1700000000.2499998, 3600), '1136160000.000000000', None),
    (('2006-01-02-00:01', 1700000000.2499998, 3600), '1136160060.000000000', None),
    (('2006-01-02Z', 1700000000.2499998, 3600), '1136160000.000000000', None),
    (('2006-01-02', 1700000000.2499998, 3600), '1136156400.000000000', None),
    (('2015-05-13T20:39:09Z', 1700000000.2499998, 3600), '1431549549.000000000', None),
    (('1136073600', 1700000000.2499998, 3600), '1136073600', None),
    (('1136073600.000000001', 1700000000.2499998, 3600), '1136073600.000000001', None),
    (('1136073600.0000000010', 1700000000.2499998, 3600), '1136073600.0000000010', None),
    (('1136073600.00000001', 1700000000.2499998, 3600), '1136073600.00000001', None),
    (('1m', 1700000000.2499998, 3600), '1699999940', None),
    (('1.5h', 1700000000.2499998, 3600), '1699994600', None),
    (('1h30m', 1700000000.2499998, 3600), '1699994600', None),
    (('invalid', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "invalid"'),
    (('', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: ""'),
    (('0', 1700000000.2499998, 3600), '0', None),
    (('10m', 1700000000.2499998, 3600), '1699999400', None),
    (('-10m', 1700000000.2499998, 3600), '1700000600', None),
    (('0s', 1700000000.2499998, 3600), '1700000000', None),
    (('1136073600.', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "1136073600."'),
    (('1136073600.bar', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "1136073600.bar"'),
    (('foo.bar', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "foo.bar"'),
    (('.5', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: ".5"'),
    (('+5', 1700000000.2499998, 3600), '+5', None),
    (('2006-13-01', 1700000000.2499998, 3600), None, 'parsing time "2006-13-01": month out of range'),
    (('2006-00-01', 1700000000.2499998, 3600), None, 'parsing time "2006-00-01": month out of range'),
    (('2006-02-29', 1700000000.2499998, 3600), None, 'parsing time "2006-02-29": day out of range'),
    (('2004-02-29', 1700000000.2499998, 3600), '1078009200.000000000', None),
    (('2006-02-30', 1700000000.2499998, 3600), None, 'parsing time "2006-02-30": day out of range'),
    (('2006-01-32', 1700000000.2499998, 3600), None, 'parsing time "2006-01-32": day out of range'),
    (('2006-01-00', 1700000000.2499998, 3600), None, 'parsing time "2006-01-00": day out of range'),
    (('2006-01-02T24:00', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T24:00": hour out of range'),
    (('2006-01-02T23:60', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T23:60": minute out of range'),
    (('2006-01-02T23:59:60', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T23:59:60": second out of range'),
    (('2006-01-02T23:59:59,5', 1700000000.2499998, 3600), '1136242799.500000000', None),
    (('2006-01-02T23:59:59,5Z', 1700000000.2499998, 3600), '1136246399.500000000', None),
    (('2006-01-02T23:59:59.5+24:00', 1700000000.2499998, 3600), '1136159999.500000000', None),
    (('2006-01-02T23:59:59.5+07', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T23:59:59.5+07" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "+07" as "Z07:00"'),
    (('2006-01-02T23:59:59.5z', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T23:59:59.5z" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "z" as "Z07:00"'),
    (('2006-01-02t10', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02t10": extra text: "t10"'),
    (('2006-01-02T10:00:00Zjunk', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T10:00:00Zjunk": extra text: "junk"'),
    (('2006-01-02junk', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02junk": extra text: "junk"'),
    (('0000-01-01', 1700000000.2499998, 3600), '-62167222800.000000000', None),
    (('9999-12-31T23:59:59.999999999Z', 1700000000.2499998, 3600), '253402300799.999999999', None),
    (('1969-12-31T23:59:59.5Z', 1700000000.2499998, 3600), '-1.500000000', None),
    (('2006-1-02', 1700000000.2499998, 3600), None, 'parsing time "2006-1-02" as "2006-01-02": cannot parse "1-02" as "01"'),
    (('2006-01-2', 1700000000.2499998, 3600), None, 'parsing time "2006-01-2" as "2006-01-02": cannot parse "2" as "02"'),
    (('2006-01-02T10:00:00.Z', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T10:00:00.Z" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse ".Z" as "Z07:00"'),
    (('2006-01-02T10:00:00.', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T10:00:00.": extra text: "."'),
    (('2006-01-02 10:00', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02 10:00": extra text: " 10:00"'),
    (('2006-01-02T10:00:00.5-08:00', 1700000000.2499998, 3600), '1136224800.500000000', None),
    (('2006-01-02T10:00:00-08:00', 1700000000.2499998, 3600), '1136224800.000000000', None),
    (('2006-01-02T10:00-08:00', 1700000000.2499998, 3600), '1136224800.000000000', None),
    (('2006-01-02T10-08:00', 1700000000.2499998, 3600), '1136224800.000000000', None),
    (('2006-01-02T10:00:00+0800', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T10:00:00+0800" as "2006-01-02T15:04Z07:00": cannot parse ":00+0800" as "Z07:00"'),
    (('99999999999999999999', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "99999999999999999999"'),
    (('9223372036854775807', 1700000000.2499998, 3600), '9223372036854775807', None),
    (('-9223372036854775808', 1700000000.2499998, 3600), None, 'parsing time "-9223372036854775808" as "2006-01-02": cannot parse "-9223372036854775808" as "2006"'),
    (('1e9', 1700000000.2499998, 3600), None, 'failed to parse value as time or duration: "1e9"'),
    (('2006-01-02T1:2:3', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T1:2:3" as "2006-01-02T15:04:05": cannot parse "2:3" as "04"'),
    (('2006-01-02T01:02:3Z', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T01:02:3Z" as "2006-01-02T15:04:05Z07:00": cannot parse "3Z" as "05"'),
    (('5m30.5s', 1700000000.2499998, 3600), '1699999669', None),
    (('2006\n-01-02', 1700000000.2499998, 3600), None, 'parsing time "2006\\x0a-01-02" as "2006-01-02": cannot parse "\\x0a-01-02" as "-"'),
    (('2006-01-02T15:04:05.5+07:00:00', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:04:05.5+07:00:00": extra text: ":00"'),
    (('2006-01-02T15:04:05+7:00', 1700000000.2499998, 3600), None, 'parsing time "2006-01-02T15:04:05+7:00" as "2006-01-02T15:04:05Z07:00": cannot parse "+7:00" as "Z07:00"'),
    (('1700000000.123', 1700000000.2499998, 3600), '1700000000.123', None),
    (('2024-02-29T12:00:00+05:30', 1700000000.2499998, 3600), '1709188200.000000000', None),
    (('2023-02-29', 1700000000.2499998, 3600), None, 'parsing time "2023-02-29": day out of range'),
]

PARSE_TIMESTAMPS = [
    ('1136073600', (1136073600, 0), None),
    ('1136073600.000000001', (1136073600, 1), None),
    ('1136073600.0000000010', (1136073600, 1), None),
    ('1136073600.00000001', (1136073600, 10), None),
    ('foo.bar', None, 'strconv.ParseInt: parsing "foo": invalid syntax'),
    ('1136073600.bar', None, 'strconv.ParseInt: parsing "bar": invalid syntax'),
    ('1.-5', (1, -50000000), None),
    ('-1.5', (-1, 500000000), None),
    ('+1', (1, 0), None),
    ('1.', None, 'strconv.ParseInt: parsing "": invalid syntax'),
    ('.', None, 'strconv.ParseInt: parsing "": invalid syntax'),
    (' 1', None, 'strconv.ParseInt: parsing " 1": invalid syntax'),
    ('1.123456789012345678', (1, 123456789), None),
    ('99999999999999999999', None, 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ('-9223372036854775808', (-9223372036854775808, 0), None),
    ('9223372036854775808', None, 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    ('0', (0, 0), None),
    ('0.5', (0, 500000000), None),
    ('1.0', (1, 0), None),
    ('-0.000000001', (0, 1), None),
]

FORMAT_RFC3339NANO = [
    (0, '1970-01-01T00:00:00Z'),
    (1, '1970-01-01T00:00:00.000000001Z'),
    (-1, '1969-12-31T23:59:59.999999999Z'),
    (1000000000, '1970-01-01T00:00:01Z'),
    (-1000000000, '1969-12-31T23:59:59Z'),
    (1704164645123456789, '2024-01-02T03:04:05.123456789Z'),
    (1704164645000000000, '2024-01-02T03:04:05Z'),
    (1704164645120000000, '2024-01-02T03:04:05.12Z'),
    (9223372036854775807, '2262-04-11T23:47:16.854775807Z'),
    (-9223372036854775808, '1677-09-21T00:12:43.145224192Z'),
    (951782400000000000, '2000-02-29T00:00:00Z'),
    (4107542400000000000, '2100-03-01T00:00:00Z'),
    (1704164645000000100, '2024-01-02T03:04:05.0000001Z'),
    (68169600000000000, '1972-02-29T00:00:00Z'),
    (-2208988800000000000, '1900-01-01T00:00:00Z'),
    (1709208000000000000, '2024-02-29T12:00:00Z'),
]

PARSE_RFC3339 = [
    ('2024-01-02T03:04:05.123456789Z', 1704164645123456789, None),
    ('2024-01-02T03:04:05Z', 1704164645000000000, None),
    ('2024-01-02T03:04:05.5+02:00', 1704157445500000000, None),
    ('2024-01-02T03:04:05-07:30', 1704191645000000000, None),
    ('0001-01-01T00:00:00Z', -62135596800000000000, None),
    ('1970-01-01T00:00:00Z', 0, None),
    ('1969-12-31T23:59:59.999999999Z', -1, None),
    ('2024-01-02T03:04:05.1234567891Z', 1704164645123456789, None),
    ('2024-02-29T00:00:00Z', 1709164800000000000, None),
    ('2023-02-29T00:00:00Z', None, 'error'),
    ('2024-01-02T3:04:05Z', 1704164645000000000, None),
    ('2024-01-02T03:04:05,5Z', 1704164645500000000, None),
    ('2024-01-02T03:04:05+24:00', 1704078245000000000, None),
    ('2024-01-02t03:04:05Z', None, 'error'),
    ('2024-01-02T03:04:05z', None, 'error'),
    ('2024-01-02T03:04:05', None, 'error'),
    ('2024-01-02', None, 'error'),
    ('', None, 'error'),
    ('2024-13-02T03:04:05Z', None, 'error'),
    ('2024-01-02T03:04:60Z', None, 'error'),
    ('2024-01-02T03:04:05+0200', None, 'error'),
    ('2024-01-02T03:04:05Z ', None, 'error'),
    ('9999-12-31T23:59:59Z', 253402300799000000000, None),
    ('0000-01-01T00:00:00Z', -62167219200000000000, None),
    ('2024-01-02T03:04:05.Z', None, 'error'),
    ('2024-01-02T03:04:05.000Z', 1704164645000000000, None),
    ('2024-01-02T23:00:00-01:00', 1704240000000000000, None),
]
# fmt: on

NS = 1_000_000_000


# ------------------------------------------------------------------ constants


def test_zero_time_constants():
    assert ZERO_TIME == "0001-01-01T00:00:00Z"
    assert ZERO_TIME_UNIX == -62135596800
    assert format_rfc3339nano_ns(ZERO_TIME_UNIX * NS) == ZERO_TIME
    assert parse_rfc3339_ns(ZERO_TIME) == ZERO_TIME_UNIX * NS


# ----------------------------------------------------------------- formatting


@pytest.mark.parametrize(("ns", "text"), FORMAT_RFC3339NANO)
def test_format_rfc3339nano_ns_matches_go(ns, text):
    assert format_rfc3339nano_ns(ns) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (0.0, "1970-01-01T00:00:00Z"),
        (1704164645, "2024-01-02T03:04:05Z"),
        (1704164645.5, "2024-01-02T03:04:05.5Z"),
        (1704164645.123456, "2024-01-02T03:04:05.123456Z"),
        (1704164645.1, "2024-01-02T03:04:05.1Z"),
        (-0.5, "1969-12-31T23:59:59.5Z"),
        (ZERO_TIME_UNIX, ZERO_TIME),
        (253402300799, "9999-12-31T23:59:59Z"),
        (951782400, "2000-02-29T00:00:00Z"),
    ],
)
def test_format_rfc3339nano_numbers(value, text):
    assert format_rfc3339nano(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "2024-01-02T03:04:05.123456Z"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05Z"),  # naive means UTC
        (datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 1, 20, 34, 5, tzinfo=timezone(timedelta(hours=-6, minutes=-30))), "2024-01-02T03:04:05Z"),
        (
            datetime(2024, 1, 2, 3, 4, 5, 500, tzinfo=timezone(timedelta(microseconds=250))),
            "2024-01-02T03:04:05.00025Z",
        ),
        (datetime(1, 1, 1, tzinfo=UTC), ZERO_TIME),
        (datetime(9999, 12, 31, 23, 59, 59, 999999), "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_format_rfc3339nano_datetimes(value, text):
    assert format_rfc3339nano(value) == text


def test_format_rfc3339nano_rejects_bool():
    with pytest.raises(TypeError):
        format_rfc3339nano(True)


def test_format_matches_python_datetime_random():
    rnd = random.Random(99)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for _ in range(2000):
        us = rnd.randrange(-62135596800 * 10**6, 253402300800 * 10**6)
        dt = epoch + timedelta(microseconds=us)
        text = format_rfc3339nano_ns(us * 1000)
        expected = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
        if dt.microsecond:
            expected += "." + f"{dt.microsecond:06d}".rstrip("0")
        assert text == expected + "Z"
        assert format_rfc3339nano(dt) == text


def test_now_rfc3339nano():
    before = time.time_ns()
    text = now_rfc3339nano()
    after = time.time_ns()
    assert text.endswith("Z")
    assert before - 1000 <= parse_rfc3339_ns(text) <= after + 1000


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize(("text", "expected", "error"), PARSE_RFC3339)
def test_parse_rfc3339_ns_matches_go_json_decoding(text, expected, error):
    if error is None:
        assert parse_rfc3339_ns(text) == expected
    else:
        with pytest.raises(InvalidParameter) as exc:
            parse_rfc3339_ns(text)
        assert str(exc.value).startswith("parsing time " + timestamps.go_quote(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", 'parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006"'),
        (
            "2024-01-02T03:04:05",
            'parsing time "2024-01-02T03:04:05" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
        ),
        ("2024-13-02T03:04:05Z", 'parsing time "2024-13-02T03:04:05Z": month out of range'),
        ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
        ("2024-01-02T03:04:60Z", 'parsing time "2024-01-02T03:04:60Z": second out of range'),
        ("2024-01-02T03:04:05Z ", 'parsing time "2024-01-02T03:04:05Z ": extra text: " "'),
        (
            "2024-01-02t03:04:05Z",
            'parsing time "2024-01-02t03:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse "t03:04:05Z" as "T"',
        ),
        ("2024-01-02T03:04:05+25:00", 'parsing time "2024-01-02T03:04:05+25:00": time zone offset hour out of range'),
        (
            "2024-01-02T03:04:05+23:61",
            'parsing time "2024-01-02T03:04:05+23:61": time zone offset minute out of range',
        ),
    ],
)
def test_parse_rfc3339_messages(text, message):
    with pytest.raises(InvalidParameter) as exc:
        parse_rfc3339_ns(text)
    assert str(exc.value) == message
    assert exc.value.status == 400


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2024-01-02T03:04:05Z", 1704164645.0),
        ("2024-01-02T03:04:05.5Z", 1704164645.5),
        ("2024-01-02T03:04:05.123456789Z", 1704164645.123456789),
        ("2024-01-02T05:04:05+02:00", 1704164645.0),
        ("2024-01-01T22:04:05-05:00", 1704164645.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("1969-12-31T23:59:59Z", -1.0),
        ("0001-01-01T00:00:01Z", ZERO_TIME_UNIX + 1.0),
    ],
)
def test_parse_rfc3339_seconds(text, seconds):
    assert parse_rfc3339(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("text", [ZERO_TIME, "0001-01-01T00:00:00.000Z", "0001-01-01T01:00:00+01:00"])
def test_parse_rfc3339_zero_time_sentinel(text):
    assert parse_rfc3339(text) == 0.0
    assert is_zero_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, True),
        ("", True),
        (ZERO_TIME, True),
        ("0001-01-01T00:00:00.000000000Z", True),
        ("2024-01-02T03:04:05Z", False),
        ("1970-01-01T00:00:00Z", False),
        ("garbage", False),
    ],
)
def test_is_zero_time(text, expected):
    assert is_zero_time(text) is expected


def test_parse_rfc3339_rejects_non_strings():
    with pytest.raises(InvalidParameter):
        parse_rfc3339_ns(1704164645)  # type: ignore[arg-type]


def test_rfc3339_round_trip_random():
    rnd = random.Random(3)
    for _ in range(3000):
        ns = rnd.randrange(ZERO_TIME_UNIX * NS, 253402300800 * NS)
        assert parse_rfc3339_ns(format_rfc3339nano_ns(ns)) == ns


def test_rfc3339_offsets_random():
    rnd = random.Random(4)
    for _ in range(1000):
        ns = rnd.randrange(0, 4102444800 * NS)
        offset_min = rnd.randrange(-23 * 60 - 59, 23 * 60 + 60)
        local = ns + offset_min * 60 * NS
        text = format_rfc3339nano_ns(local)[:-1]
        sign = "+" if offset_min >= 0 else "-"
        text += f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
        assert parse_rfc3339_ns(text) == ns


# ------------------------------------------------------ --since / --until


@pytest.mark.parametrize(("args", "expected", "error"), GET_TIMESTAMP)
def test_get_timestamp_matches_moby(args, expected, error):
    if error is None:
        assert get_timestamp(*args) == expected
    else:
        with pytest.raises(InvalidParameter) as exc:
            get_timestamp(*args)
        assert str(exc.value) == error


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        ("10m", 1700000000.0, 1700000000.0 - 600),
        ("1h30m", 1700000000.0, 1700000000.0 - 5400),
        ("10m", 1700000000.75, 1699999400.0),  # durations resolve to whole seconds
        ("-5s", 1700000000.0, 1700000005.0),
        ("1700000000.123", 0.0, 1700000000.123),
        ("1700000000", 0.0, 1700000000.0),
        ("2024-01-02", 0.0, 1704153600.0),
        ("2024-01-02T03:04:05Z", 0.0, 1704164645.0),
        ("2024-01-02T03:04:05.25+01:00", 0.0, 1704161045.25),
        ("2024-01-02T03:04", 0.0, 1704164640.0),
        ("0", 1700000000.0, 0.0),
    ],
)
def test_parse_since(value, now, expected):
    assert parse_since(value, now, tz_offset=0) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2024-01-02", 3600, 1704153600 - 3600),
        ("2024-01-02", -18000, 1704153600 + 18000),
        ("2024-01-02T10:00:00", 19800, 1704189600 - 19800),
        ("2024-01-02Z", 3600, 1704153600),  # explicit zone wins
        ("2024-01-02T10:00:00+00:00", -18000, 1704189600),
    ],
)
def test_parse_since_zone(value, offset, expected):
    assert parse_since(value, 1700000000.0, tz_offset=offset) == expected


def test_default_zone_is_local_at_now(monkeypatch):
    seen = []

    def fake_offset(now):
        seen.append(now)
        return 7200

    monkeypatch.setattr(timestamps, "_local_offset", fake_offset)
    assert parse_since("2024-01-02", 1700000000.0) == 1704153600 - 7200
    assert seen == [1700000000.0]
    assert parse_since("2024-01-02Z", 1700000000.0) == 1704153600


def test_local_offset_is_the_systems():
    now = time.time()
    assert timestamps._local_offset(now) == time.localtime(now).tm_gmtoff


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("invalid", 'failed to parse value as time or duration: "invalid"'),
        ("", 'failed to parse value as time or duration: ""'),
        ("2006-13-01", 'parsing time "2006-13-01": month out of range'),
        ("-1", 'parsing time "-1" as "2006-01-02": cannot parse "-1" as "2006"'),
    ],
)
def test_parse_since_errors(value, message):
    with pytest.raises(InvalidParameter) as exc:
        parse_since(value, 1700000000.0, tz_offset=0)
    assert str(exc.value) == message


@pytest.mark.parametrize(("value", "expected", "error"), PARSE_TIMESTAMPS)
def test_parse_timestamps_matches_moby(value, expected, error):
    if error is None:
        assert parse_timestamps(value) == expected
    else:
        with pytest.raises(InvalidParameter) as exc:
            parse_timestamps(value)
        assert str(exc.value) == error


@pytest.mark.parametrize(("value", "default"), [("", 0), (None, 0), ("", -1), (None, 1700000000)])
def test_parse_timestamps_default(value, default):
    assert parse_timestamps(value, default) == (default, 0)


def test_get_timestamp_fuzz_only_raises_invalid_parameter():
    rnd = random.Random(11)
    for _ in range(3000):
        value = "".join(rnd.choice("0123456789-:TZz+., hms") for _ in range(rnd.randint(0, 24)))
        try:
            out = get_timestamp(value, 1700000000.5, 3600)
        except InvalidParameter:
            continue
        sec, _ = parse_timestamps(out)
        assert isinstance(sec, int)


def test_cli_modules_import_light():
    # The CLI imports this module: no typing, re or datetime at import time.
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(timestamps))
    names = {
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not names & {"typing", "re", "datetime", "TYPE_CHECKING"}
