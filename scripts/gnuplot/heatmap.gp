# Pairwise distance heatmap of one model's blocks (the paper's Figure 4).
#
#   block-js --format matrix ... > js.dat
#   gnuplot -e "in='js.dat'; out='fig.png'; model='gpt2-small'" scripts/gnuplot/heatmap.gp
if (!exists("in")) in = 'js.dat'
if (!exists("out")) out = 'heatmap.png'
if (!exists("model")) model = system(sprintf("awk '/^# model/{print $3; exit}' %s", in))
set terminal pngcairo size 900,800 enhanced font ',9'
set output out
set view map
# Fixed margins: long block names must not squeeze the map.
set lmargin at screen 0.30
set rmargin at screen 0.86
set bmargin at screen 0.30
set tmargin at screen 0.94
set palette rgbformulae 33,13,10
set cblabel 'distance'
set xtics rotate by 60 right noenhanced
set ytics noenhanced
title = system(sprintf("awk '/^# model/ && $3==\"%s\" {print $3\", \"$5\" mean \"$7; exit}' %s", model, in))
set title title noenhanced
# This model's matrix only, from its `# model` line to the next blank line;
# labels without the `transformer.` prefix and `.weight` suffix.
plot sprintf("< awk '/^# model /{f=($3==\"%s\"); next} f && NF {gsub(/transformer\\./, \"\"); gsub(/\\.weight/, \"\"); print}' %s", model, in) \
     matrix rowheaders columnheaders with image notitle
