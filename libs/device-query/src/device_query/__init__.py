"""GenieACS-style device queries and presets, defined once for the NBI and the scheduler.

``paths``: the parameter path grammar (names, instance numbers, ``*``, ``[Key:value]`` aliases).
``values``: how a query's text values match typed stored values. ``syntax``: a query parsed
and checked against the operator whitelist; ``mongo`` and ``memory`` are its two back ends (a
MongoDB filter for the NBI, a predicate over a device document for the scheduler).
``presets``: preset and declaration validation. Errors are ``errors.QueryError`` and kin.
"""
