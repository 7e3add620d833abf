"""What-if scenarios: the file format (``schema``); evaluation against a run comes next."""

from forecast.scenario.schema import Scenario, load_scenario, parse_scenario, scenario_json_schema

__all__ = ["Scenario", "load_scenario", "parse_scenario", "scenario_json_schema"]
