"""Review of a recorded campaign: discipline lint, calibration, code cost, the HTML report, replay."""
