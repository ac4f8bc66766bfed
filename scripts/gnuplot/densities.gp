# Blockwise spectral densities, one panel per model, log-scaled density axis
# (the paper's Figures 1 and 3 style).
#
#   gnuplot -e "in='densities.csv'; out='fig.png'; models='m1 m2'" scripts/gnuplot/densities.gp
#
# `in` is `slq-density --format csv` output (model,block,x,density). Blocks
# of each model are found by gnuplot itself: every distinct block name in
# column 2 gets its own curve.
if (!exists("in")) in = 'densities.csv'
if (!exists("out")) out = 'densities.png'
if (!exists("models")) models = ''
if (!exists("xlabel")) xlabel = 'eigenvalue'
set datafile separator ','
set terminal pngcairo size 820*words(models),520 enhanced font ',10'
set output out
set logscale y
set format y '10^{%L}'
set yrange [1e-8:*]
set ylabel 'density'
set xlabel xlabel
set key outside right top font ',7'
set multiplot layout 1, words(models)
do for [m in models] {
    # block names of model m, in input order
    blocks = system(sprintf("awk -F, 'NR>1 && $1==\"%s\" && !s[$2]++ {printf \"%%s \", $2}' %s", m, in))
    set title m noenhanced
    plot for [b in blocks] in using 3:((strcol(1) eq m && strcol(2) eq b) ? $4 : 1/0) with lines lw 1.5 title system(sprintf("echo '%s' | sed 's/^transformer\\.//; s/\\.weight$//'", b)) noenhanced
}
unset multiplot
