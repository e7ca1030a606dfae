"""The end-to-end chain on top of every stage: pipeline (corpus -> curate -> build-records -> train
-> sample -> evaluate, resumable), pipeline_config (the one TOML/YAML file), report and svg_charts
(report.html)."""
