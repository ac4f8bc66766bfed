# make rescue: per configuration, the share of SGD's gap to AdamW that each
# per-block learning-rate rule closes (Fieller 90% interval over paired
# seeds; an unbounded interval is drawn across the panel), and the gaps
# themselves in loss units (90% t intervals).
#
#   gnuplot -e "in='out/rescue/rescue.csv'; out='out/rescue/rescue.png'" scripts/gnuplot/rescue.gp
#
# Columns of rescue.csv (scripts/mechanism/rescue-report): 1 model, 3 rule,
# 9-11 gap_plain, 12-14 gap_rule, 18-20 fraction with its interval.
if (!exists("out")) out = 'rescue.png'
set datafile separator ','
set terminal pngcairo size 1400,1000 enhanced font ',10'
set output out
configs = system("awk -F, 'NR > 1 && !seen[$1]++ { printf \"%s \", $1 }' ".in)
rules = system("awk -F, 'NR > 1 && !seen[$3]++ { printf \"%s \", $3 }' ".in)
n = words(configs)
nr = words(rules)
at(s) = sum [i=1:n] (word(configs, i) eq s ? i : 0)
# The x of a row of rule r (else undefined), each rule a little apart.
x(r) = strcol(3) eq word(rules, r) ? at(strcol(1)) + 0.3 * (r - (nr + 1) / 2.0) / nr : 1/0
# The share panel shows [-1, 2]: values beyond are drawn at its edge, and
# an unbounded interval spans it.
clamp(v) = v < -1 ? -1 : v > 2 ? 2 : v
bound(c, far) = valid(c) ? clamp(column(c)) : far
set xrange [0.5:n + 0.5]
set xtics () rotate by -30 font ',9'
set for [i=1:n] xtics add (word(configs, i) i)
set grid ytics
set key top left
set multiplot layout 2, 1 title 'Per-block learning rates for SGD (docs/mechanism.md)'
set ylabel 'share of the SGD-AdamW gap closed (clamped to [-1, 2])'
set yrange [-1.05:2.05]
plot 1 with lines dt 2 lc rgb 'gray' notitle, 0 with lines lc rgb 'gray' notitle, \
     for [r=1:nr] in using (x(r)):(clamp($18)):(bound(19, -1)):(bound(20, 2)) with yerrorbars pt 7 lc r title word(rules, r) noenhanced
set ylabel 'final held-out loss minus AdamW''s'
set autoscale y
plot 0 with lines lc rgb 'gray' notitle, \
     in using (x(1) - 0.05):9:10:11 with yerrorbars pt 6 lc rgb 'black' title 'plain SGD', \
     for [r=1:nr] in using (x(r)):12:13:14 with yerrorbars pt 7 lc r title 'SGD, '.word(rules, r) noenhanced
unset multiplot
