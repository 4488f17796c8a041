"""Price sources (file, ENTSO-E, Nord Pool), the household tariff, and slot normalisation."""
