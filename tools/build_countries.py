#!/usr/bin/env python
"""Build ``src/hkpolicy/data/countries.csv`` from pycountry plus the hand-written tables below.

Usage::

    python tools/build_countries.py            # writes src/hkpolicy/data/countries.csv
    python tools/build_countries.py --check    # fails if the file on disk is not what would be built

Columns ``code,name,alias,kind`` (see ``src/hkpolicy/data/countries.md``):

* every ISO 3166-1 entry in pycountry contributes its ``name``, ``official_name`` and ``common_name``
  as ``kind=name`` aliases, except the inverted/parenthesised forms that never occur in running text
  ("Korea, Republic of", "Holy See (Vatican City State)") and a few risky words (``PYCOUNTRY_DROP``);
* ``EUU`` (European Union) is added; ``HKG`` is pycountry's Hong Kong, read as Hong Kong's own government;
* the tables below add news spellings, demonyms, plural nationality nouns, capitals and seats of power.

Aliases are exact, case-sensitive surface strings; the matcher prefers the longest one at a position.
The build fails if an alias maps to two codes (or two kinds), if an alias is blank, lower-case only
(except ``LOWERCASE_OK``) or a two-letter code other than US/UK/EU, or if a UN member or observer state
lacks a name, a demonym or a capital without a listed reason. Output is sorted by code, kind, alias;
UTF-8 (NFC), LF line endings, so a rebuild with the same pycountry version is byte-identical.
Every alias containing a straight apostrophe also gets a typographic (U+2019) twin, since the corpus
keeps curly quotes.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import unicodedata
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "hkpolicy" / "data" / "countries.csv"

KINDS = ("name", "demonym", "people", "capital", "seat")

# ---------------------------------------------------------------------------------------------------
# UN membership (193 members) and the two observer states.
UN_MEMBERS = set("""
AFG ALB DZA AND AGO ATG ARG ARM AUS AUT AZE BHS BHR BGD BRB BLR BEL BLZ BEN BTN BOL BIH BWA BRA BRN
BGR BFA BDI CPV KHM CMR CAN CAF TCD CHL CHN COL COM COG CRI CIV HRV CUB CYP CZE PRK COD DNK DJI DMA
DOM ECU EGY SLV GNQ ERI EST SWZ ETH FJI FIN FRA GAB GMB GEO DEU GHA GRC GRD GTM GIN GNB GUY HTI HND
HUN ISL IND IDN IRN IRQ IRL ISR ITA JAM JPN JOR KAZ KEN KIR KWT KGZ LAO LVA LBN LSO LBR LBY LIE LTU
LUX MDG MWI MYS MDV MLI MLT MHL MRT MUS MEX FSM MCO MNG MNE MAR MOZ MMR NAM NRU NPL NLD NZL NIC NER
NGA MKD NOR OMN PAK PLW PAN PNG PRY PER PHL POL PRT QAT KOR MDA ROU RUS RWA KNA LCA VCT WSM SMR STP
SAU SEN SRB SYC SLE SGP SVK SVN SLB SOM ZAF SSD ESP LKA SDN SUR SWE CHE SYR TJK THA TLS TGO TON TTO
TUN TUR TKM TUV UGA UKR ARE GBR TZA USA URY UZB VUT VEN VNM YEM ZMB ZWE
""".split())
UN_OBSERVERS = {"VAT", "PSE"}
# Non-ISO / non-member actors that must also be covered like states.
EXTRA_ACTORS = {"EUU", "TWN", "HKG"}

# ---------------------------------------------------------------------------------------------------
# Codes that pycountry does not have.
EXTRA_CODES = {"EUU": "European Union"}

# Display name per code ("name" column), as news writes it. Codes not listed use pycountry's
# common_name, else its name.
DISPLAY = {
    "BES": "Caribbean Netherlands",
    "BHS": "Bahamas",
    "BRN": "Brunei",
    "CCK": "Cocos Islands",
    "CIV": "Ivory Coast",
    "COD": "Democratic Republic of the Congo",
    "COG": "Republic of the Congo",
    "CPV": "Cape Verde",
    "CZE": "Czech Republic",
    "EUU": "European Union",
    "FLK": "Falkland Islands",
    "FSM": "Micronesia",
    "GBR": "United Kingdom",
    "HKG": "Hong Kong",
    "MAC": "Macau",
    "MAF": "Saint Martin",
    "PSE": "Palestine",
    "RUS": "Russia",
    "SHN": "Saint Helena",
    "SWZ": "Eswatini",
    "SXM": "Sint Maarten",
    "TLS": "East Timor",
    "TUR": "Turkey",
    "TWN": "Taiwan",
    "USA": "United States",
    "VAT": "Holy See",
    "VGB": "British Virgin Islands",
    "VIR": "U.S. Virgin Islands",
}

# pycountry strings never used as aliases: inverted or parenthesised catalogue forms, and bare
# words that are wrong or ambiguous in running text.
PYCOUNTRY_DROP = {
    "Bolivia, Plurinational State of",
    "Cocos (Keeling) Islands",
    "Congo",  # half the time it means the DRC
    "Congo, The Democratic Republic of the",
    "Falkland Islands (Malvinas)",
    "Holy See (Vatican City State)",
    "Iran, Islamic Republic of",
    "Jersey",  # the word / New Jersey; Crown dependency, not a state
    "Korea, Democratic People's Republic of",
    "Korea, Republic of",
    "Micronesia, Federated States of",
    "Moldova, Republic of",
    "Palestine, State of",
    "Saint Martin (French part)",
    "Sint Maarten (Dutch part)",
    "Taiwan, Province of China",
    "Tanzania, United Republic of",
    "Venezuela, Bolivarian Republic of",
    "Virgin Islands, British",
    "Virgin Islands, U.S.",
}
# Comma forms that are real running-text names (a list, not an inversion).
PYCOUNTRY_COMMA_OK = {"Bonaire, Sint Eustatius and Saba", "Saint Helena, Ascension and Tristan da Cunha"}

# Entirely lower-case aliases are refused except these.
LOWERCASE_OK = {"the mainland"}
TWO_LETTER_OK = {"US", "UK", "EU"}

# ---------------------------------------------------------------------------------------------------
# Hand-written aliases, "|"-separated per code.

NAMES = {
    "ARE": "UAE|U.A.E.|the Emirates",
    "ATG": "Antigua",
    "BHS": "The Bahamas|the Bahamas",
    "BIH": "Bosnia|Bosnia-Herzegovina",
    "BRN": "Brunei",
    "CCK": "Cocos (Keeling) Islands|Cocos Islands|Keeling Islands",
    "CHN": "China|People's Republic of China|PRC|P.R.C.|mainland China|Mainland China|the mainland"
           "|the Mainland|Chinese mainland",
    "CIV": "Ivory Coast|Côte d'Ivoire|Cote d'Ivoire|Cote D'Ivoire",
    "COD": "Democratic Republic of the Congo|Democratic Republic of Congo|DR Congo|DRC|Congo-Kinshasa",
    "COG": "Republic of Congo|Congo Republic|Congo-Brazzaville",
    "CPV": "Cape Verde",
    "CZE": "Czech Republic|Czechia",
    "EUU": "European Union|EU|E.U.",
    "FLK": "Falkland Islands|Falklands|Islas Malvinas",
    "FSM": "Micronesia|Federated States of Micronesia",
    "GBR": "United Kingdom|UK|U.K.|Britain|Great Britain",
    "GMB": "The Gambia|the Gambia",
    "HKG": "Hong Kong|HKSAR|Hong Kong SAR|Hong Kong Special Administrative Region|Hongkong",
    "IRN": "Iran|Islamic Republic of Iran",
    "JEY": "Bailiwick of Jersey",
    "KNA": "St Kitts and Nevis|St. Kitts and Nevis|Saint Kitts|St Kitts|St. Kitts",
    "KOR": "South Korea|Republic of Korea|ROK",
    "LAO": "Laos|Lao PDR",
    "LCA": "St Lucia|St. Lucia",
    "MAC": "Macau|Macao|Macau SAR|Macao SAR|Macau Special Administrative Region",
    "MAF": "Saint Martin|Collectivity of Saint Martin",
    "MDA": "Moldova|Republic of Moldova",
    "MKD": "North Macedonia|Macedonia|Republic of North Macedonia",
    "MMR": "Myanmar|Burma|Republic of the Union of Myanmar",
    "NLD": "Netherlands|the Netherlands|The Netherlands|Holland",
    "PHL": "the Philippines",
    "PRK": "North Korea|DPRK|D.P.R.K.|Democratic People's Republic of Korea",
    "PSE": "Palestine|State of Palestine|Palestinian Authority|Palestinian National Authority",
    "RUS": "Russia|Russian Federation",
    "SAU": "Saudi Arabia|KSA",
    "SHN": "Saint Helena|St Helena",
    "STP": "São Tomé and Príncipe|Sao Tome and Principe",
    "SWZ": "Eswatini|Swaziland|Kingdom of Eswatini",
    "SXM": "Sint Maarten",
    "SYR": "Syria",
    "TLS": "East Timor|Timor-Leste|Timor Leste",
    "TTO": "Trinidad",
    "TUR": "Turkey|Türkiye|Turkiye|Republic of Turkey",
    "TWN": "Taiwan|Chinese Taipei",
    "TZA": "Tanzania",
    "USA": "United States|United States of America|U.S.|the U.S.|US|USA|U.S.A.|America",
    "VAT": "Holy See|Vatican|Vatican City|Vatican City State|the Vatican",
    "VCT": "St Vincent and the Grenadines|St. Vincent and the Grenadines|Saint Vincent|St Vincent",
    "VEN": "Venezuela",
    "VGB": "British Virgin Islands|BVI",
    "VIR": "U.S. Virgin Islands|US Virgin Islands|United States Virgin Islands",
    "VNM": "Vietnam|Viet Nam",
    "BOL": "Bolivia",
}

# Adjectives used before nouns ("the British government"). "Congolese" (both Congos), "Korean",
# "Virgin Islander" are ambiguous and left out; "Dominican" is the Dominican Republic's.
DEMONYMS = {
    "AFG": "Afghan", "ALB": "Albanian", "DZA": "Algerian", "AND": "Andorran", "AGO": "Angolan",
    "ATG": "Antiguan|Barbudan", "ARG": "Argentine|Argentinian", "ARM": "Armenian",
    "AUS": "Australian|Aussie", "AUT": "Austrian", "AZE": "Azerbaijani|Azeri", "BHS": "Bahamian",
    "BHR": "Bahraini", "BGD": "Bangladeshi", "BRB": "Barbadian|Bajan", "BLR": "Belarusian",
    "BEL": "Belgian", "BLZ": "Belizean", "BEN": "Beninese", "BTN": "Bhutanese", "BOL": "Bolivian",
    "BIH": "Bosnian|Herzegovinian", "BWA": "Botswanan|Motswana", "BRA": "Brazilian", "BRN": "Bruneian",
    "BGR": "Bulgarian", "BFA": "Burkinabe|Burkinabè", "BDI": "Burundian", "CPV": "Cape Verdean|Cabo Verdean",
    "KHM": "Cambodian", "CMR": "Cameroonian", "CAN": "Canadian", "CAF": "Central African",
    "TCD": "Chadian", "CHL": "Chilean", "CHN": "Chinese", "COL": "Colombian", "COM": "Comorian",
    "CRI": "Costa Rican", "CIV": "Ivorian", "HRV": "Croatian", "CUB": "Cuban", "CYP": "Cypriot",
    "CZE": "Czech", "PRK": "North Korean", "DNK": "Danish", "DJI": "Djiboutian", "DOM": "Dominican",
    "ECU": "Ecuadorian|Ecuadorean", "EGY": "Egyptian", "SLV": "Salvadoran|Salvadorean",
    "GNQ": "Equatorial Guinean|Equatoguinean", "ERI": "Eritrean", "EST": "Estonian", "SWZ": "Swazi",
    "ETH": "Ethiopian", "FJI": "Fijian", "FIN": "Finnish", "FRA": "French", "GAB": "Gabonese",
    "GMB": "Gambian", "GEO": "Georgian", "DEU": "German", "GHA": "Ghanaian", "GRC": "Greek",
    "GRD": "Grenadian", "GTM": "Guatemalan", "GIN": "Guinean", "GNB": "Bissau-Guinean",
    "GUY": "Guyanese", "HTI": "Haitian", "HND": "Honduran", "HUN": "Hungarian", "ISL": "Icelandic",
    "IND": "Indian", "IDN": "Indonesian", "IRN": "Iranian", "IRQ": "Iraqi", "IRL": "Irish",
    "ISR": "Israeli", "ITA": "Italian", "JAM": "Jamaican", "JPN": "Japanese", "JOR": "Jordanian",
    "KAZ": "Kazakh|Kazakhstani", "KEN": "Kenyan", "KIR": "I-Kiribati", "KWT": "Kuwaiti",
    "KGZ": "Kyrgyz|Kyrgyzstani", "LAO": "Lao|Laotian", "LVA": "Latvian", "LBN": "Lebanese",
    "LSO": "Basotho|Mosotho", "LBR": "Liberian", "LBY": "Libyan", "LIE": "Liechtensteiner",
    "LTU": "Lithuanian", "LUX": "Luxembourgish", "MDG": "Malagasy",
    "MWI": "Malawian", "MYS": "Malaysian", "MDV": "Maldivian", "MLI": "Malian", "MLT": "Maltese",
    "MHL": "Marshallese", "MRT": "Mauritanian", "MUS": "Mauritian", "MEX": "Mexican",
    "FSM": "Micronesian", "MCO": "Monegasque|Monégasque", "MNG": "Mongolian", "MNE": "Montenegrin",
    "MAR": "Moroccan", "MOZ": "Mozambican", "MMR": "Burmese", "NAM": "Namibian", "NRU": "Nauruan",
    "NPL": "Nepali|Nepalese", "NLD": "Dutch", "NZL": "Kiwi", "NIC": "Nicaraguan", "NER": "Nigerien",
    "NGA": "Nigerian", "MKD": "North Macedonian|Macedonian", "NOR": "Norwegian", "OMN": "Omani",
    "PAK": "Pakistani", "PLW": "Palauan", "PAN": "Panamanian", "PNG": "Papua New Guinean",
    "PRY": "Paraguayan", "PER": "Peruvian", "PHL": "Filipino|Philippine", "POL": "Polish",
    "PRT": "Portuguese", "QAT": "Qatari", "KOR": "South Korean", "MDA": "Moldovan",
    "ROU": "Romanian", "RUS": "Russian", "RWA": "Rwandan", "KNA": "Kittitian|Nevisian",
    "LCA": "Saint Lucian|St Lucian", "VCT": "Vincentian", "WSM": "Samoan", "SMR": "Sammarinese",
    "STP": "Santomean|São Toméan|Sao Tomean", "SAU": "Saudi|Saudi Arabian", "SEN": "Senegalese",
    "SRB": "Serbian", "SYC": "Seychellois", "SLE": "Sierra Leonean", "SGP": "Singaporean",
    "SVK": "Slovak|Slovakian", "SVN": "Slovenian|Slovene", "SLB": "Solomon Islander",
    "SOM": "Somali|Somalian", "ZAF": "South African", "SSD": "South Sudanese", "ESP": "Spanish",
    "LKA": "Sri Lankan", "SDN": "Sudanese", "SUR": "Surinamese", "SWE": "Swedish", "CHE": "Swiss",
    "SYR": "Syrian", "TJK": "Tajik|Tajikistani", "THA": "Thai", "TLS": "Timorese|East Timorese",
    "TGO": "Togolese", "TON": "Tongan", "TTO": "Trinidadian|Tobagonian", "TUN": "Tunisian",
    "TUR": "Turkish", "TKM": "Turkmen", "TUV": "Tuvaluan", "UGA": "Ugandan", "UKR": "Ukrainian",
    "ARE": "Emirati", "GBR": "British", "TZA": "Tanzanian", "USA": "American", "URY": "Uruguayan",
    "UZB": "Uzbek|Uzbekistani", "VUT": "Ni-Vanuatu|Vanuatuan", "VEN": "Venezuelan",
    "VNM": "Vietnamese", "YEM": "Yemeni", "ZMB": "Zambian", "ZWE": "Zimbabwean",
    # observers and other actors
    "PSE": "Palestinian", "TWN": "Taiwanese", "EUU": "European",
    # a few territories, so that e.g. "American" inside "American Samoan" is not read as the US
    "ASM": "American Samoan", "PRI": "Puerto Rican", "MAC": "Macanese", "GRL": "Greenlandic",
    "BMU": "Bermudian", "GIB": "Gibraltarian",
}
# UN member / observer states with no unambiguous adjective.
NO_DEMONYM = {
    "COD": "'Congolese' is shared by both Congos",
    "COG": "'Congolese' is shared by both Congos",
    "DMA": "'Dominican' is the Dominican Republic's",
    "VAT": "the name itself ('Vatican') is the adjective",
}

# Plural nouns for citizens: never the state. Adjectives that double as plurals ("Chinese",
# "Taiwanese", "Swiss", "French") are listed only as demonyms.
PEOPLE = {
    "AFG": "Afghans", "ALB": "Albanians", "DZA": "Algerians", "AND": "Andorrans", "AGO": "Angolans",
    "ATG": "Antiguans", "ARG": "Argentines|Argentinians", "ARM": "Armenians", "AUS": "Australians|Aussies",
    "AUT": "Austrians", "AZE": "Azerbaijanis|Azeris", "BHS": "Bahamians", "BHR": "Bahrainis",
    "BGD": "Bangladeshis", "BRB": "Barbadians|Bajans", "BLR": "Belarusians", "BEL": "Belgians",
    "BLZ": "Belizeans", "BOL": "Bolivians", "BIH": "Bosnians", "BWA": "Batswana", "BRA": "Brazilians",
    "BRN": "Bruneians", "BGR": "Bulgarians", "BDI": "Burundians", "CPV": "Cape Verdeans",
    "KHM": "Cambodians", "CMR": "Cameroonians", "CAN": "Canadians", "CAF": "Central Africans",
    "TCD": "Chadians", "CHL": "Chileans", "COL": "Colombians", "COM": "Comorians",
    "CRI": "Costa Ricans", "CIV": "Ivorians", "HRV": "Croatians|Croats", "CUB": "Cubans",
    "CYP": "Cypriots", "CZE": "Czechs", "PRK": "North Koreans", "DNK": "Danes", "DJI": "Djiboutians",
    "DOM": "Dominicans", "ECU": "Ecuadorians", "EGY": "Egyptians", "SLV": "Salvadorans",
    "ERI": "Eritreans", "EST": "Estonians", "SWZ": "Swazis", "ETH": "Ethiopians", "FJI": "Fijians",
    "FIN": "Finns", "GMB": "Gambians", "GEO": "Georgians", "DEU": "Germans", "GHA": "Ghanaians",
    "GRC": "Greeks", "GRD": "Grenadians", "GTM": "Guatemalans", "GIN": "Guineans", "HTI": "Haitians",
    "HND": "Hondurans", "HUN": "Hungarians", "ISL": "Icelanders", "IND": "Indians",
    "IDN": "Indonesians", "IRN": "Iranians", "IRQ": "Iraqis", "ISR": "Israelis", "ITA": "Italians",
    "JAM": "Jamaicans", "JOR": "Jordanians", "KAZ": "Kazakhs|Kazakhstanis", "KEN": "Kenyans",
    "KWT": "Kuwaitis", "LAO": "Laotians", "LVA": "Latvians", "LBR": "Liberians", "LBY": "Libyans",
    "LIE": "Liechtensteiners", "LTU": "Lithuanians", "LUX": "Luxembourgers", "MWI": "Malawians",
    "MYS": "Malaysians", "MDV": "Maldivians", "MLI": "Malians", "MRT": "Mauritanians",
    "MUS": "Mauritians", "MEX": "Mexicans", "FSM": "Micronesians", "MCO": "Monegasques",
    "MNG": "Mongolians", "MNE": "Montenegrins", "MAR": "Moroccans", "MOZ": "Mozambicans",
    "NAM": "Namibians", "NRU": "Nauruans", "NPL": "Nepalis", "NZL": "New Zealanders|Kiwis",
    "NIC": "Nicaraguans", "NER": "Nigeriens", "NGA": "Nigerians", "MKD": "North Macedonians|Macedonians",
    "NOR": "Norwegians", "OMN": "Omanis", "PAK": "Pakistanis", "PLW": "Palauans", "PAN": "Panamanians",
    "PNG": "Papua New Guineans", "PRY": "Paraguayans", "PER": "Peruvians", "PHL": "Filipinos",
    "POL": "Poles", "QAT": "Qataris", "KOR": "South Koreans", "MDA": "Moldovans", "ROU": "Romanians",
    "RUS": "Russians", "RWA": "Rwandans", "LCA": "Saint Lucians", "VCT": "Vincentians",
    "WSM": "Samoans", "SAU": "Saudis|Saudi Arabians", "SRB": "Serbians|Serbs", "SLE": "Sierra Leoneans",
    "SGP": "Singaporeans", "SVK": "Slovaks", "SVN": "Slovenians|Slovenes", "SLB": "Solomon Islanders",
    "SOM": "Somalis", "ZAF": "South Africans", "ESP": "Spaniards", "LKA": "Sri Lankans",
    "SUR": "Surinamers", "SWE": "Swedes", "SYR": "Syrians", "TJK": "Tajiks", "THA": "Thais",
    "TON": "Tongans", "TTO": "Trinidadians", "TUN": "Tunisians",
    "TUR": "Turks", "TKM": "Turkmens", "TUV": "Tuvaluans", "UGA": "Ugandans", "UKR": "Ukrainians",
    "ARE": "Emiratis", "GBR": "Britons|Brits", "TZA": "Tanzanians", "USA": "Americans",
    "URY": "Uruguayans", "UZB": "Uzbeks", "VEN": "Venezuelans", "YEM": "Yemenis", "ZMB": "Zambians",
    "ZWE": "Zimbabweans", "PSE": "Palestinians", "HKG": "Hongkongers|Hong Kongers", "EUU": "Europeans",
    "PRI": "Puerto Ricans",
}

# Capitals used as metonyms ("London said"). Ambiguous ones ("Washington", "Victoria", "Lima") are kept:
# trap rules elsewhere handle them. "Brussels" is the EU's, not Belgium's.
CAPITALS = {
    "AFG": "Kabul", "ALB": "Tirana", "DZA": "Algiers", "AND": "Andorra la Vella", "AGO": "Luanda",
    "ATG": "St. John's|St John's|Saint John's", "ARG": "Buenos Aires", "ARM": "Yerevan",
    "AUS": "Canberra", "AUT": "Vienna", "AZE": "Baku", "BHS": "Nassau", "BHR": "Manama",
    "BGD": "Dhaka", "BRB": "Bridgetown", "BLR": "Minsk", "BLZ": "Belmopan", "BEN": "Porto-Novo",
    "BTN": "Thimphu", "BOL": "La Paz|Sucre", "BIH": "Sarajevo", "BWA": "Gaborone",
    "BRA": "Brasília|Brasilia", "BRN": "Bandar Seri Begawan", "BGR": "Sofia", "BFA": "Ouagadougou",
    "BDI": "Gitega|Bujumbura", "CPV": "Praia", "KHM": "Phnom Penh", "CMR": "Yaoundé|Yaounde",
    "CAN": "Ottawa", "CAF": "Bangui", "TCD": "N'Djamena|Ndjamena", "CHL": "Santiago",
    "CHN": "Beijing", "COL": "Bogotá|Bogota", "COM": "Moroni", "COG": "Brazzaville",
    "COD": "Kinshasa", "CRI": "San José|San Jose", "CIV": "Yamoussoukro", "HRV": "Zagreb",
    "CUB": "Havana", "CYP": "Nicosia", "CZE": "Prague", "PRK": "Pyongyang", "DNK": "Copenhagen",
    "DMA": "Roseau", "DOM": "Santo Domingo", "ECU": "Quito", "EGY": "Cairo", "SLV": "San Salvador",
    "GNQ": "Malabo", "ERI": "Asmara", "EST": "Tallinn", "SWZ": "Mbabane|Lobamba", "ETH": "Addis Ababa",
    "FJI": "Suva", "FIN": "Helsinki", "FRA": "Paris", "GAB": "Libreville", "GMB": "Banjul",
    "GEO": "Tbilisi", "DEU": "Berlin", "GHA": "Accra", "GRC": "Athens",
    "GRD": "St. George's|St George's|Saint George's", "GTM": "Guatemala City", "GIN": "Conakry",
    "GNB": "Bissau", "GUY": "Georgetown", "HTI": "Port-au-Prince", "HND": "Tegucigalpa",
    "HUN": "Budapest", "ISL": "Reykjavik|Reykjavík", "IND": "New Delhi", "IDN": "Jakarta",
    "IRN": "Tehran", "IRQ": "Baghdad", "IRL": "Dublin", "ISR": "Jerusalem", "ITA": "Rome",
    "JAM": "Kingston", "JPN": "Tokyo", "JOR": "Amman", "KAZ": "Astana|Nur-Sultan", "KEN": "Nairobi",
    "KIR": "Tarawa|South Tarawa", "KWT": "Kuwait City", "KGZ": "Bishkek", "LAO": "Vientiane",
    "LVA": "Riga", "LBN": "Beirut", "LSO": "Maseru", "LBR": "Monrovia", "LBY": "Tripoli",
    "LIE": "Vaduz", "LTU": "Vilnius", "MDG": "Antananarivo", "MWI": "Lilongwe",
    "MYS": "Kuala Lumpur", "MDV": "Malé", "MLI": "Bamako", "MLT": "Valletta", "MHL": "Majuro",
    "MRT": "Nouakchott", "MUS": "Port Louis", "MEX": "Mexico City", "FSM": "Palikir",
    "MNG": "Ulaanbaatar|Ulan Bator", "MNE": "Podgorica", "MAR": "Rabat", "MOZ": "Maputo",
    "MMR": "Naypyidaw|Nay Pyi Taw|Naypyitaw", "NAM": "Windhoek", "NRU": "Yaren", "NPL": "Kathmandu",
    "NLD": "Amsterdam", "NZL": "Wellington", "NIC": "Managua", "NER": "Niamey", "NGA": "Abuja",
    "MKD": "Skopje", "NOR": "Oslo", "OMN": "Muscat", "PAK": "Islamabad", "PLW": "Ngerulmud",
    "PAN": "Panama City", "PNG": "Port Moresby", "PRY": "Asunción|Asuncion", "PER": "Lima",
    "PHL": "Manila", "POL": "Warsaw", "PRT": "Lisbon", "QAT": "Doha", "KOR": "Seoul",
    "MDA": "Chisinau|Chișinău", "ROU": "Bucharest", "RUS": "Moscow", "RWA": "Kigali",
    "KNA": "Basseterre", "LCA": "Castries", "VCT": "Kingstown", "WSM": "Apia",
    "STP": "São Tomé|Sao Tome", "SAU": "Riyadh", "SEN": "Dakar", "SRB": "Belgrade", "SYC": "Victoria",
    "SLE": "Freetown", "SVK": "Bratislava", "SVN": "Ljubljana", "SLB": "Honiara", "SOM": "Mogadishu",
    "ZAF": "Pretoria", "SSD": "Juba", "ESP": "Madrid", "LKA": "Colombo|Sri Jayawardenepura Kotte",
    "SDN": "Khartoum", "SUR": "Paramaribo", "SWE": "Stockholm", "CHE": "Bern|Berne",
    "SYR": "Damascus", "TJK": "Dushanbe", "THA": "Bangkok", "TLS": "Dili", "TGO": "Lomé|Lome",
    "TON": "Nuku'alofa|Nukuʻalofa", "TTO": "Port of Spain|Port-of-Spain", "TUN": "Tunis",
    "TUR": "Ankara", "TKM": "Ashgabat", "TUV": "Funafuti", "UGA": "Kampala", "UKR": "Kyiv|Kiev",
    "ARE": "Abu Dhabi", "GBR": "London", "TZA": "Dodoma", "USA": "Washington", "URY": "Montevideo",
    "UZB": "Tashkent", "VUT": "Port Vila", "VEN": "Caracas", "VNM": "Hanoi", "YEM": "Sanaa|Sana'a",
    "ZMB": "Lusaka", "ZWE": "Harare",
    "PSE": "Ramallah", "TWN": "Taipei", "EUU": "Brussels",
}
# UN member / observer states without a capital alias (city-states whose capital is the name).
NO_CAPITAL = {
    "BEL": "'Brussels' is read as the EU",
    "DJI": "capital is 'Djibouti', already the name",
    "LUX": "capital is 'Luxembourg', already the name",
    "MCO": "city-state",
    "SGP": "city-state",
    "SMR": "capital is 'San Marino', already the name",
    "VAT": "city-state ('Vatican City' is a name)",
}

# Seats of power used as metonyms ("Downing Street said"). Named bodies (ministries, parliaments)
# are in institutions.csv, not here.
SEATS = {
    "BEN": "Cotonou",
    "BRA": "Planalto|Palácio do Planalto",
    "CAN": "Parliament Hill",
    "CHN": "Zhongnanhai",
    "ESP": "Moncloa|La Moncloa",
    "ARG": "Casa Rosada",
    "ZAF": "Union Buildings",
    "EUU": "Berlaymont",
    "FRA": "Élysée|Elysee|Élysée Palace|Elysee Palace",
    "GBR": "Downing Street|Number 10|Whitehall|Westminster",
    "IND": "South Block|Raisina Hill",
    "ITA": "Palazzo Chigi",
    "JPN": "Kasumigaseki|Nagatacho|Kantei",
    "KOR": "Blue House|Cheong Wa Dae",
    "MYS": "Putrajaya",
    "NZL": "the Beehive",
    "PHL": "Malacañang|Malacanang|Malacañang Palace|Malacanang Palace",
    "RUS": "Kremlin|the Kremlin",
    "USA": "Foggy Bottom|Oval Office",
}


# ---------------------------------------------------------------------------------------------------

def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _with_apostrophe_twins(alias: str) -> list[str]:
    return [alias, alias.replace("'", "\u2019")] if "'" in alias else [alias]


def build_rows() -> list[tuple[str, str, str, str]]:
    """All rows (code, name, alias, kind), sorted; raises ValueError on any inconsistency."""
    errors: list[str] = []
    display: dict[str, str] = {}
    entries: list[tuple[str, str, str]] = []  # (code, alias, kind)

    for country in pycountry.countries:
        code = country.alpha_3
        display[code] = getattr(country, "common_name", None) or country.name
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if not value or value in PYCOUNTRY_DROP:
                continue
            if ("(" in value or ", " in value) and value not in PYCOUNTRY_COMMA_OK:
                errors.append(f"pycountry form {value!r} ({code}) needs a decision: PYCOUNTRY_DROP or _COMMA_OK")
                continue
            entries.append((code, value, "name"))
    display.update(EXTRA_CODES)
    display.update(DISPLAY)

    for table, kind in ((NAMES, "name"), (DEMONYMS, "demonym"), (PEOPLE, "people"),
                        (CAPITALS, "capital"), (SEATS, "seat")):
        for code, value in table.items():
            if code not in display:
                errors.append(f"{kind} table: unknown code {code}")
            for alias in _split(value):
                entries.append((code, alias, kind))

    # Apostrophe twins, NFC, de-duplication, consistency.
    seen: dict[str, tuple[str, str]] = {}
    rows: set[tuple[str, str, str, str]] = set()
    for code, alias, kind in entries:
        for form in _with_apostrophe_twins(unicodedata.normalize("NFC", alias)):
            if form != form.strip() or not form:
                errors.append(f"blank or padded alias {form!r} ({code})")
            if not re.search(r"[A-ZÀ-Þ]", form) and form not in LOWERCASE_OK:
                errors.append(f"lower-case alias {form!r} ({code})")
            if re.fullmatch(r"[A-Z]{2}", form) and form not in TWO_LETTER_OK:
                errors.append(f"two-letter alias {form!r} ({code})")
            previous = seen.get(form)
            if previous is not None and previous != (code, kind):
                errors.append(f"alias {form!r} is both {previous} and {(code, kind)}")
                continue
            seen[form] = (code, kind)
            rows.add((code, display[code], form, kind))

    # Coverage of states.
    by_code: dict[str, set[str]] = {}
    for code, _name, _alias, kind in rows:
        by_code.setdefault(code, set()).add(kind)
    if len(UN_MEMBERS) != 193:
        errors.append(f"UN_MEMBERS has {len(UN_MEMBERS)} codes, expected 193")
    for code in sorted(UN_MEMBERS | UN_OBSERVERS | EXTRA_ACTORS):
        kinds = by_code.get(code, set())
        if "name" not in kinds:
            errors.append(f"{code}: no name alias")
        if code in UN_MEMBERS | UN_OBSERVERS:
            if "demonym" not in kinds and code not in NO_DEMONYM:
                errors.append(f"{code}: no demonym (add one or a NO_DEMONYM reason)")
            if "capital" not in kinds and code not in NO_CAPITAL:
                errors.append(f"{code}: no capital (add one or a NO_CAPITAL reason)")
    for code in display:
        if code not in by_code:
            errors.append(f"{code}: no alias at all")
    for code, name in display.items():
        if "," in name or "(" in name or "Province of" in name:
            errors.append(f"{code}: display name {name!r} is a catalogue form")

    if errors:
        raise ValueError("countries.csv build failed:\n  " + "\n  ".join(errors))
    return sorted(rows, key=lambda r: (r[0], r[3], r[2]))


def render(rows: list[tuple[str, str, str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "name", "alias", "kind"])
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output path (default {OUT})")
    parser.add_argument("--check", action="store_true", help="compare with the file on disk, write nothing")
    args = parser.parse_args(argv)
    try:
        rows = build_rows()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    text = render(rows)
    if args.check:
        current = args.out.read_bytes().decode("utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date; run tools/build_countries.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(rows)} rows)")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(text.encode("utf-8"))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    summary = ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in KINDS)
    print(f"wrote {args.out}: {len(rows)} rows, {len({r[0] for r in rows})} codes ({summary}); "
          f"pycountry {getattr(pycountry, '__version__', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
