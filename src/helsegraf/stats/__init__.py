"""Statistics for analysts: a table engine over the registers, with disclosure control.

- engine.py: tables of measures by dimensions, filtered, at a date (each register read on its own).
- sql.py: the grouped SQL, one register per statement.
- disclosure.py: the cell key method that perturbs and suppresses counts of persons.
- presets.py: Helsedirektoratet's national key figures and SSB table 12005, made from the engine.
- querylog.py: the analysts' query log (who asked for which table, when, with which parameters).
"""
