"""Writing into a unit's workbook: fill (data file -> workbook), score (the computed scores), and
annotate (`check --write`: the 校验结果 sheet and the marks on the cells of the findings).

Each edits only the cells it is asked to, through the package editor (xltools/ooxml/); everything
else the unit's program wrote is kept byte for byte."""
