"""Grid carbon-intensity sources (gCO2eq per kWh): a file, the UK Carbon Intensity API and the
Electricity Maps API; the refresh job that stores their forecasts. They share the price sources'
HTTP helper (`prices._http`) and error tree (`PriceError`)."""
