# The paper's Figures 6-7: histograms of each block's eigenvalues in a
# quadratic of Case 1 (Transformer-type spectra) or Case 2 (CNN-type).
#
#   quad-sim --case 1 --spectra S --emit-spectra ... | jq -r 'select(.type=="spectrum") | .block as $b | .eigenvalues[] | [$b, .] | @csv' > e.csv
#   gnuplot -e "in='e.csv'; out='fig6.png'; title='Case 1'" scripts/gnuplot/fig67.gp
if (!exists("in")) in = 'eigenvalues.csv'
if (!exists("out")) out = 'fig67.png'
if (!exists("title")) title = ''
set datafile separator ','
blocks = system(sprintf("cut -d, -f1 %s | tr -d '\"' | awk '!s[$0]++' | tr '\\n' ' '", in))
n = words(blocks)
set terminal pngcairo size 300*n,320 enhanced font ',9'
set output out
set style fill solid 0.6 border -1
set xlabel 'eigenvalue'
set ylabel 'count'
set multiplot layout 1, n title title noenhanced
do for [b in blocks] {
    set title b noenhanced
    plot in using ((strcol(1) eq b) ? $2 : 1/0) bins=20 with boxes notitle
}
unset multiplot
